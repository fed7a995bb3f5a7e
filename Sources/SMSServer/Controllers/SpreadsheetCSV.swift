/// CSV for spreadsheets, as the exports write it (the spool report, the conversation search): `;`
/// between cells (what Excel expects where the decimal separator is a comma, as for the seed's
/// Spanish- and Italian-speaking users), CRLF between rows.
///
/// A cell a spreadsheet would run as a formula — one starting with `=`, `+`, `-`, `@`, a tab or a
/// carriage return — gets a leading `'`, so a client's text such as `=HYPERLINK(…)` or `+1+cmd|…` is
/// shown, never evaluated. A cell with `;`, `"` or a line break is quoted, `"` doubled.
enum SpreadsheetCSV {
    static func cell(_ value: String) -> String {
        // Unicode scalars, not Characters: "\r\n" is one Character, equal to neither "\r" nor "\n".
        var v = value
        if let first = v.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) { v = "'" + v }
        if v.unicodeScalars.contains(where: { ";\"\n\r".unicodeScalars.contains($0) }) {
            v = "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return v
    }

    /// One row of cells, without its line end.
    static func row(_ cells: [String]) -> String {
        cells.map(cell).joined(separator: ";")
    }
}
