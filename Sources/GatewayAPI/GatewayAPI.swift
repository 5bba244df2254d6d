/// The gateway's HTTP contract, generated at build time from the root `openapi.yaml` (through the symlink in
/// this folder): `Components`, `Operations` and `APIProtocol` by swift-openapi-generator, and
/// `EmbeddedOpenAPIDocument` (the document's exact bytes, served at `/openapi.yaml`) by the EmbedOpenAPIDocument
/// plugin.
package enum GatewayAPI {}
