import Basics
import Testing

@Test func framesAndTimesAsTyped() {
    #expect(FrameReference.parse("42") == .frame(42))
    #expect(FrameReference.parse(" 3.25s ") == .time(3.25))
    #expect(FrameReference.parse("1:02.5") == .time(62.5))
    #expect(FrameReference.parse("1:00:00") == .time(3600))
    #expect(FrameReference.parse("1:75") == nil)
    #expect(FrameReference.parse("abc") == nil)
    #expect(FrameReference.parse("") == nil)
    #expect(FrameReference.parse("nans") == nil)
}

@Test func timesAlone() {
    #expect(FrameReference.seconds("4.5") == 4.5)
    #expect(FrameReference.seconds("4.5s") == 4.5)
    #expect(FrameReference.seconds("1:02.5") == 62.5)
    #expect(FrameReference.seconds("0:01:02") == 62)
    #expect(FrameReference.seconds("1:60") == nil)
    #expect(FrameReference.seconds("-1:05") == nil)
    #expect(FrameReference.seconds("inf") == nil)
}

@Test func timecodes() {
    #expect(Timecode.format(0) == "0:00.000")
    #expect(Timecode.format(62.5) == "1:02.500")
    #expect(Timecode.format(3725.0339) == "1:02:05.034")
    #expect(Timecode.format(.nan) == "--:--")
    #expect(Timecode.format(1e300).hasSuffix(".000"))
}
