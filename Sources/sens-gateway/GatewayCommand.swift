/// `sens-gateway`: the internal opt-out gateway. The HTTP service itself is not built yet; until it is, this
/// entry point only explains that and exits cleanly, so that packaging and CI can already build it.
@main
struct GatewayCommand {
    static func main() {
        print("sens-gateway: the gateway service is not implemented yet; run `swift run sens-simulator` for the SENS simulator.")
    }
}
