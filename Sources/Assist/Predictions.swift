import Annotations
import Foundation

/// A model answer read with the Molmo2 grammar (Annotations' parser) and placed on the request's frames: every
/// timestamp goes to the sampled frame with the nearest printed time, every image key to its image's frame, and
/// coordinates to source pixels of that frame.
package struct Predictions: Sendable, Equatable {
    /// The parsed answer (sentence form, elements, parser diagnostics).
    package var answer: Molmo2Answer
    /// The answer's points (one object each) or tracks (one object per id), on decoded frame indices in source pixels.
    package var objects: [PredictedObject]
    /// Points whose key matched no image of the request (or an image key in a video answer).
    package var unplaced: Int
    /// What was dropped or adjusted, in words: the parser's diagnostics, and answer times that are not one of the
    /// sampled times (snapped to the nearest).
    package var diagnostics: [String]

    /// The count the answer states (0 for `There are none.`), if any.
    package var statedCount: Int? { answer.statedCount }

    package init(text: String, request: GroundingRequest) {
        let parsed = Molmo2Answer.parse(text)
        answer = parsed
        diagnostics = parsed.diagnostics
        switch request.media {
        case .video(_, let sampling, let width, let height):
            let lastFrame = sampling.frames.max() ?? 0
            let media = MediaDescriptor(
                kind: .video, path: request.mediaName, byteSize: 0, headSHA256: "", duration: 0,
                frameCount: lastFrame + 1, width: width, height: height, fps: 0, sampling: sampling)
            let placed = parsed.objects(media: media, sampling: sampling)
            objects = placed.objects
            unplaced = placed.unplaced
            diagnostics += Self.offGridTimes(parsed, sampling: sampling)
        case .images(let images):
            let media = MediaDescriptor.imageSet(
                images: images.map {
                    ImageDescriptor(path: "", width: $0.sourceWidth, height: $0.sourceHeight, byteSize: 0, headSHA256: "")
                }, path: request.mediaName)
            let placed = parsed.objects(media: media)
            // Image k of the request is frame images[k].frameIndex of the source.
            objects = placed.objects.map { object in
                var moved = object
                moved.points = object.points.compactMap { point in
                    guard point.frame >= 0, point.frame < images.count else { return nil }
                    return PredictedPoint(frame: images[point.frame].frameIndex, x: point.x, y: point.y)
                }
                return moved
            }
            unplaced = placed.unplaced
        }
    }

    package init(answer: GroundingAnswer, request: GroundingRequest) {
        self.init(text: answer.text, request: request)
    }

    /// Total number of placed points.
    package var pointCount: Int { objects.reduce(0) { $0 + $1.points.count } }

    /// Answer times farther than half a printed decimal (0.05 s) from every sampled time: the model named a time it
    /// was not shown. They are still placed on the nearest sampled frame.
    static func offGridTimes(_ answer: Molmo2Answer, sampling: FrameSampling) -> [String] {
        var out: [String] = []
        var seen: Set<Double> = []
        for element in answer.elements {
            for group in element.groups {
                guard case .time(let t) = group.key, seen.insert(t).inserted,
                    let nearest = sampling.nearestSampleIndex(toTime: t)
                else { continue }
                let distance = abs(sampling.times[nearest] - t)
                if distance > 0.05 + 1e-9 {
                    let shown = String(format: "%.1f", sampling.times[nearest])
                    let frame = sampling.frames[nearest]
                    out.append(
                        "time \(String(format: "%.1f", t)) s was not shown; placed on the sample at \(shown) s (frame \(frame))")
                }
            }
        }
        return out
    }
}
