#ifndef SENS_GATEWAY_COPENSSL_SHIM_H
#define SENS_GATEWAY_COPENSSL_SHIM_H

// Only the one-call HMAC() and EVP digests are used; neither is deprecated in OpenSSL 3.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>

#endif
