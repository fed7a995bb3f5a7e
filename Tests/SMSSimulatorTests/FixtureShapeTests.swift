import Testing

/// The shape comparison the answer tests rely on tells apart what a client
/// parsing the provider's JSON would.
@Suite struct FixtureShapeTests {
    @Test(arguments: [
        (#"{"a":false}"#, #"{"a":0}"#),
        (#"{"a":"1"}"#, #"{"a":1}"#),
        (#"{"a":null}"#, #"{"a":"x"}"#),
        (#"{"a":1}"#, #"{"a":1,"b":1}"#),
        (#"{"a":[1]}"#, #"{"a":[1,2]}"#),
        (#"{"a":{"b":1}}"#, #"{"a":{"c":1}}"#),
    ])
    func differentShapesAreTold(_ pair: (String, String)) throws {
        let first = try #require(JSONValue.parse(Array(pair.0.utf8)))
        let second = try #require(JSONValue.parse(Array(pair.1.utf8)))
        #expect(first.shape() != second.shape())
    }

    @Test func valuesDoNotMatter() throws {
        let first = try #require(JSONValue.parse(Array(#"{"id":"SMa","n":1,"ok":true,"x":null}"#.utf8)))
        let second = try #require(JSONValue.parse(Array(#"{"x":null,"ok":false,"n":2.5,"id":"SMb"}"#.utf8)))
        #expect(first.shape() == second.shape())
    }
}
