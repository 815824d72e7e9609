import Testing

@Test func TerminalGraphicsTestsBuilds() { #expect(Bool(true)) }
