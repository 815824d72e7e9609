import Testing

@Test func SpotterCLITestsBuilds() { #expect(Bool(true)) }
