import Testing

@Test func SpotterUITestsBuilds() { #expect(Bool(true)) }
