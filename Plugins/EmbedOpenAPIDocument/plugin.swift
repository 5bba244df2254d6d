import PackagePlugin

/// Embeds the target's `openapi.yaml` as `EmbeddedOpenAPIDocument.text`, so the server can publish the exact
/// document it was generated from without shipping a file beside the binary, and its routes as
/// `EmbeddedOpenAPIDocument.routes`.
@main
struct EmbedOpenAPIDocument: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        let input = target.directoryURL.appending(path: "openapi.yaml")
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedOpenAPIDocument.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(input.lastPathComponent)",
                executable: try context.tool(named: "openapi-embed").url,
                arguments: [input.path(), output.path()],
                inputFiles: [input],
                outputFiles: [output]
            )
        ]
    }
}
