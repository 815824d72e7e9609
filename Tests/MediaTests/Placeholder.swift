import Testing

@Test func MediaTestsBuilds() { #expect(Bool(true)) }
