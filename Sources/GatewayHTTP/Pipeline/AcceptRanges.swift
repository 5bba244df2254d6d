/// An `Accept` header's media ranges, for the two operations that read it (the filter, the export): each range's
/// highest quality, and the charset it names, if any.
struct AcceptRanges {
    private var ranges: [String: (quality: Double, charset: String?)] = [:]

    init(_ values: [String]) {
        for range in values.flatMap({ $0.split(separator: ",") }) {
            let parts = range.split(separator: ";").map { $0.filter { $0 != " " && $0 != "\t" } }
            guard let type = parts.first?.lowercased(), !type.isEmpty else { continue }
            var quality = 1.0
            var charset: String?
            for parameter in parts.dropFirst() {
                let lowered = parameter.lowercased()
                if lowered.hasPrefix("q=") { quality = Double(lowered.dropFirst(2)) ?? 1 }
                if lowered.hasPrefix("charset=") { charset = String(parameter.dropFirst(8)) }
            }
            if let known = ranges[type], known.quality >= quality { continue }
            ranges[type] = (quality, charset)
        }
    }

    /// How `type` is accepted, from its most specific range (`text/csv`, then `text/*`, then `*/*`); quality 0
    /// when no range covers it.
    func preference(_ type: String) -> (quality: Double, charset: String?) {
        let family = type.prefix { $0 != "/" }
        return ranges[type] ?? ranges[family + "/*"] ?? ranges["*/*"] ?? (0, nil)
    }

    /// The quality of a range naming exactly `type` (0 when none does).
    func named(_ type: String) -> Double { ranges[type]?.quality ?? 0 }
}
