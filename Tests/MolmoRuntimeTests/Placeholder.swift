import Testing

@Test func MolmoRuntimeTestsBuilds() { #expect(Bool(true)) }
