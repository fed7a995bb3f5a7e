import Foundation
import SMSProviders
import Testing
#if canImport(FoundationXML)
import FoundationXML
#endif

@Suite("URL template language")
struct URLTemplateTests {
    static let fixtureValues = URLTemplate.Values(
        to: "+5215512345678", from: "CONTACTO", text: "Hola José: su ticket #4711 & más",
        id: "c0ffee00-0000-4000-8000-000000000001", encoding: "ucs2", segments: "1")

    /// Texts every position must carry unchanged: URL/form/JSON/XML metacharacters, line breaks, emoji, accents.
    static let hardTexts = [
        "a & b = c + d # e ? f / g % h \" i < j > k",
        "line one\nline two\r\nthree\ttab",
        "emoji 😀👍🏽 flag 🇲🇽 family 👨‍👩‍👧",
        "¿Dónde está? Ñandú, çà, ü — 100€ [IVA] {x} | ~ ^ \\",
        "already%20encoded %2B and +plus and 'quotes'",
        "",
    ]

    static func render(_ source: String, _ kind: URLTemplate.Kind, _ values: URLTemplate.Values) throws -> String {
        try URLTemplate(source, kind: kind).render(values)
    }

    static func parseError(_ source: String, _ kind: URLTemplate.Kind = .url) -> URLTemplate.ParseError? {
        do {
            _ = try URLTemplate(source, kind: kind)
            return nil
        } catch {
            return error
        }
    }

    // MARK: Positions

    @Test("the fixture's URL GET template expands to exactly the fixture's URL (query values %20-encoded)")
    func fixtureURL() throws {
        let url = try Self.render("https://sms.example.net/api/send?to={{to|noplus}}&from={{from}}&text={{text}}&ref={{id}}",
                                  .url, Self.fixtureValues)
        #expect(url == "https://sms.example.net/api/send?to=5215512345678&from=CONTACTO&text=Hola%20Jos%C3%A9%3A%20su%20ticket%20%234711%20%26%20m%C3%A1s&ref=c0ffee00-0000-4000-8000-000000000001")
    }

    @Test("the fixture's form body template gives exactly the fixture's raw body (space as +)")
    func fixtureForm() throws {
        let body = try Self.render("to={{to}}&from={{from}}&message={{text}}&id={{id}}",
                                   .body(.init(contentType: "application/x-www-form-urlencoded")), Self.fixtureValues)
        #expect(body == "to=%2B5215512345678&from=CONTACTO&message=Hola+Jos%C3%A9%3A+su+ticket+%234711+%26+m%C3%A1s&id=c0ffee00-0000-4000-8000-000000000001")
    }

    @Test("the fixture's JSON body template gives exactly the fixture's raw body (UTF-8 kept)")
    func fixtureJSON() throws {
        let body = try Self.render(#"{"to":"{{to}}","text":"{{text}}","coding":"{{encoding}}","ref":"{{id}}"}"#,
                                   .body(.init(contentType: "application/json; charset=utf-8")), Self.fixtureValues)
        #expect(body == #"{"to":"+5215512345678","text":"Hola José: su ticket #4711 & más","coding":"ucs2","ref":"c0ffee00-0000-4000-8000-000000000001"}"#)
    }

    @Test("a value before ? is escaped as a path segment, / included; after ? or # as a query component")
    func urlPositions() throws {
        let values = URLTemplate.Values(to: "a/b c", text: "x&y=z+w#v")
        #expect(try Self.render("https://h/{{to}}/send?t={{text}}", .url, values) == "https://h/a%2Fb%20c/send?t=x%26y%3Dz%2Bw%23v")
        #expect(try Self.render("https://h/p#{{to}}", .url, values) == "https://h/p#a%2Fb%20c")
    }

    @Test("XML and header positions escape for their place; unknown content types copy values raw")
    func otherPositions() throws {
        let values = URLTemplate.Values(text: "<a href=\"x\">Tom & 'Jerry'</a>\nok")
        #expect(try Self.render("<sms>{{text}}</sms>", .body(.init(contentType: "text/xml")), values)
            == "<sms>&lt;a href=&quot;x&quot;&gt;Tom &amp; &apos;Jerry&apos;&lt;/a&gt;&#10;ok</sms>")
        #expect(try Self.render("Bearer {{text}}", .header, values) == "Bearer <a href=\"x\">Tom & 'Jerry'</a> ok")
        #expect(try Self.render("{{text}}", .body(.init(contentType: "text/plain")), values) == values.text)
    }

    @Test("content types map to body formats")
    func contentTypes() {
        #expect(URLTemplate.BodyFormat(contentType: "application/x-www-form-urlencoded; charset=UTF-8") == .form)
        #expect(URLTemplate.BodyFormat(contentType: "application/vnd.api+json") == .json)
        #expect(URLTemplate.BodyFormat(contentType: "application/soap+xml") == .xml)
        #expect(URLTemplate.BodyFormat(contentType: "text/plain") == .raw)
        #expect(URLTemplate.BodyFormat(contentType: nil) == .raw)
    }

    // MARK: Filters

    @Test("an explicit escaping filter replaces the automatic one: never encoded twice")
    func noDoubleEncoding() throws {
        let values = URLTemplate.Values(text: "a b&c")
        #expect(try Self.render("https://h/?t={{text|url}}", .url, values) == "https://h/?t=a%20b%26c")
        #expect(try Self.render("https://h/?t={{text|form}}", .url, values) == "https://h/?t=a+b%26c")
        #expect(try Self.render("https://h/?t={{text|raw}}", .url, values) == "https://h/?t=a b&c")
        #expect(try Self.render("t={{text|url}}", .body(.form), values) == "t=a%20b%26c")
        #expect(try Self.render(#"{"t":"{{text|raw}}"}"#, .body(.json), URLTemplate.Values(text: "{\"x\":1}")) == #"{"t":"{"x":1}"}"#)
    }

    @Test("transforming filters keep the automatic escaping of their position")
    func transformsThenEscape() throws {
        let values = URLTemplate.Values(to: "+52 155 1234-5678", from: "+My Shop")
        #expect(try Self.render("https://h/?to={{to|digits}}&f={{from|noplus}}", .url, values) == "https://h/?to=5215512345678&f=My%20Shop")
        #expect(try Self.render("to={{to|e164}}", .body(.form), values) == "to=%2B5215512345678")
        #expect(try Self.render("https://h/?to={{to|digits|e164}}", .url, values) == "https://h/?to=%2B5215512345678")
    }

    @Test("number filters: digits keeps 0-9, noplus drops one leading +, e164 gives + and digits")
    func numberFilters() throws {
        #expect(try URLTemplate.apply(.digits, to: "+52 (155) 1234-5678") == "5215512345678")
        #expect(try URLTemplate.apply(.noplus, to: "+5215512345678") == "5215512345678")
        #expect(try URLTemplate.apply(.noplus, to: "5215512345678") == "5215512345678")
        #expect(try URLTemplate.apply(.e164, to: "5215512345678") == "+5215512345678")
        #expect(try URLTemplate.apply(.e164, to: "+52 1 55") == "+52155")
        #expect(try URLTemplate.apply(.e164, to: "") == "")
    }

    @Test("ucs2hex is UTF-16BE uppercase hex, surrogate pairs included")
    func ucs2hex() throws {
        #expect(try URLTemplate.apply(.ucs2hex, to: "Hé😀") == "004800E9D83DDE00")
    }

    @Test("gsm7hex gives unpacked septets, extension characters after 1B, and refuses text GSM-7 cannot carry")
    func gsm7hex() throws {
        #expect(try URLTemplate.apply(.gsm7hex, to: "@£A a\n") == "0001412061" + "0A")
        #expect(try URLTemplate.apply(.gsm7hex, to: "_ÆÄà") == "111C5B7F")
        #expect(try URLTemplate.apply(.gsm7hex, to: "€[]") == "1B651B3C1B3E")
        #expect(throws: URLTemplate.RenderError.self) { try URLTemplate.apply(.gsm7hex, to: "á") }
    }

    @Test("uContact's ${phone}, ${message} and ${id} are aliases of to, text and id")
    func uContactAliases() throws {
        let url = try Self.render("http://www.celularsoft.com/smsin/microfin.php?celular=${phone}&mensaje=${message}&id=${id}",
                                  .url, URLTemplate.Values(to: "+5215512345678", text: "hola mundo", id: "42"))
        #expect(url == "http://www.celularsoft.com/smsin/microfin.php?celular=%2B5215512345678&mensaje=hola%20mundo&id=42")
    }

    @Test("spaces inside braces are allowed and the used placeholders are listed in order")
    func spacesAndPlaceholders() throws {
        let template = try URLTemplate("https://h/?a={{ text | url }}&b={{to}}&c={{text}}&d={{callback_url}}", kind: .url)
        #expect(try template.render(URLTemplate.Values(text: "x y")).hasPrefix("https://h/?a=x%20y"))
        #expect(template.placeholders == [.text, .to, .callbackURL])
    }

    @Test("braces that are not placeholders, such as nested JSON objects, are copied")
    func literalBraces() throws {
        let body = try Self.render(#"{"m":{"to":"{{to}}","n":[{"t":"{{text}}"}]}}"#, .body(.json),
                                   URLTemplate.Values(to: "+1", text: "q\"x"))
        #expect(body == #"{"m":{"to":"+1","n":[{"t":"q\"x"}]}}"#)
    }

    // MARK: Parse errors

    @Test("an unknown placeholder is reported with its name and position")
    func unknownPlaceholder() {
        let error = Self.parseError("https://h/?a={{too}}")
        #expect(error == URLTemplate.ParseError(.unknownPlaceholder("too"), at: 16))
        #expect(error?.description.contains("unknown placeholder 'too' at character 16") == true)
        #expect(Self.parseError("https://h/?a=${phono}") == URLTemplate.ParseError(.unknownPlaceholder("${phono}"), at: 16))
    }

    @Test("an unknown filter is reported with its name and position")
    func unknownFilter() {
        let error = Self.parseError("a={{text| urll }}", .body(.form))
        #expect(error == URLTemplate.ParseError(.unknownFilter("urll"), at: 11))
        #expect(error?.description.contains("unknown filter 'urll'") == true)
    }

    @Test("an unclosed {{ or ${ is reported at its opening")
    func unclosed() {
        #expect(Self.parseError("https://h/?a={{text&b=1") == URLTemplate.ParseError(.unclosed, at: 14))
        #expect(Self.parseError("https://h/?a={{text&b={{to}}") == URLTemplate.ParseError(.unclosed, at: 14))
        #expect(Self.parseError("x=${phone") == URLTemplate.ParseError(.unclosed, at: 3))
        #expect(Self.parseError("x={{ }}") == URLTemplate.ParseError(.emptyPlaceholder, at: 3))
    }

    // MARK: Round trips

    @Test("every hard text survives a URL query value", arguments: hardTexts)
    func roundTripQuery(text: String) throws {
        let url = try Self.render("https://h/send?a=1&text={{text}}&b=2", .url, URLTemplate.Values(text: text))
        let items = try #require(URLComponents(string: url)?.percentEncodedQueryItems)
        #expect(items.map(\.name) == ["a", "text", "b"])
        #expect(items[1].value?.removingPercentEncoding == text)
        // Form-style decoders (which read + as space) agree, since + is escaped.
        #expect(FormCoding.decode(try #require(URLComponents(string: url)?.percentEncodedQuery))[1].1 == text)
    }

    @Test("every hard text survives a URL path segment", arguments: hardTexts)
    func roundTripPath(text: String) throws {
        let url = try Self.render("https://h/send/{{text}}/end", .url, URLTemplate.Values(text: text))
        let path = try #require(URLComponents(string: url)?.percentEncodedPath)
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        #expect(segments.count == 4)
        #expect(segments.count == 4 && String(segments[2]).removingPercentEncoding == text)
    }

    @Test("every hard text survives a form body", arguments: hardTexts)
    func roundTripForm(text: String) throws {
        let body = try Self.render("a=1&text={{text}}&b=2", .body(.form), URLTemplate.Values(text: text))
        #expect(FormCoding.decode(body).map(\.0) == ["a", "text", "b"])
        #expect(FormCoding.decode(body)[1].1 == text)
    }

    @Test("every hard text survives a JSON body", arguments: hardTexts)
    func roundTripJSON(text: String) throws {
        let body = try Self.render(#"{"text":"{{text}}","n":1}"#, .body(.json), URLTemplate.Values(text: text))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        #expect(object["text"] as? String == text)
    }

    @Test("every hard text survives an XML body, as element text and as attribute", arguments: hardTexts)
    func roundTripXML(text: String) throws {
        let body = try Self.render(#"<sms to="{{text}}"><text>{{text}}</text></sms>"#, .body(.xml), URLTemplate.Values(text: text))
        let reader = XMLReader()
        let parser = XMLParser(data: Data(body.utf8))
        parser.delegate = reader
        #expect(parser.parse(), "\(body)")
        #expect(reader.attribute == text)
        #expect(reader.text == text)
    }
}

/// Collects the `to` attribute of `<sms>` and the text of `<text>`.
private final class XMLReader: NSObject, XMLParserDelegate {
    var attribute: String?
    var text = ""
    private var inText = false

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        if elementName == "sms" { attribute = attributes["to"] }
        if elementName == "text" { inText = true }
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        if elementName == "text" { inText = false }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if inText { text += string }
    }
}
