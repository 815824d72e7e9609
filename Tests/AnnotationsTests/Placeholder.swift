import Testing

@Test func AnnotationsTestsBuilds() { #expect(Bool(true)) }
