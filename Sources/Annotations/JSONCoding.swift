import Foundation

// JSON forms of the descriptors shared by the store (project_meta, query details) and the file formats.

extension FrameSampling {
    func writeJSON(into w: inout JSONWriter) {
        w.byte(UInt8(ascii: "{"))
        w.key("frame_sample_mode", first: true)
        w.string(mode)
        w.key("num_frames")
        w.int(maxFrames)
        w.key("max_fps")
        w.number(maxFPS)
        w.key("sampling_fps")
        if let samplingFPS { w.number(samplingFPS) } else { w.raw("null") }
        w.key("clip_start")
        w.number(clipStart)
        w.key("timestamps")
        w.array(times) { w, t in w.number(t) }
        w.key("frames")
        w.array(frames) { w, f in w.int(f) }
        w.byte(UInt8(ascii: "}"))
    }

    /// Reads the JSON form; `fail` builds the error for a bad field.
    init(json: JSONValue, fail: (String) -> AnnotationError) throws {
        guard let object = json.objectValue else { throw fail("sampling must be an object") }
        let times = try readNumbers(object["timestamps"], name: "sampling.timestamps", fail: fail)
        var frames: [Int] = []
        if let framesValue = object["frames"], !framesValue.isNull {
            frames = try readNumbers(framesValue, name: "sampling.frames", fail: fail).map { value in
                guard value >= 0, value == value.rounded(), value < Double(MediaDescriptor.maximumFrameCount) else {
                    throw fail("sampling.frames must hold frame indices")
                }
                return Int(value)
            }
            guard frames.count == times.count else { throw fail("sampling.frames and timestamps differ in length") }
        }
        self.init(
            mode: object["frame_sample_mode"]?.stringValue ?? "uniform_last_frame",
            maxFrames: object["num_frames"]?.intValue ?? times.count,
            maxFPS: object["max_fps"]?.doubleValue ?? 2,
            samplingFPS: object["sampling_fps"]?.doubleValue,
            clipStart: object["clip_start"]?.doubleValue ?? 0,
            times: times, frames: frames)
    }
}

/// Reads an array of numbers.
func readNumbers(_ value: JSONValue?, name: String, fail: (String) -> AnnotationError) throws -> [Double] {
    guard let array = value?.arrayValue else { throw fail("\(name) must be an array of numbers") }
    var out: [Double] = []
    out.reserveCapacity(array.count)
    for item in array {
        guard let number = item.doubleValue else { throw fail("\(name) must be an array of numbers") }
        out.append(number)
    }
    return out
}

extension ImageDescriptor {
    /// `"path":…,"width":…,"height":…,"byte_size":…,"head_sha256":…`, without the braces (a record may add fields).
    func writeFields(into w: inout JSONWriter) {
        w.key("path", first: true)
        w.string(path)
        w.key("width")
        w.int(width)
        w.key("height")
        w.int(height)
        w.key("byte_size")
        w.int(Int(byteSize))
        w.key("head_sha256")
        w.string(headSHA256)
    }
}

extension MediaDescriptor {
    /// The full descriptor (frame times and images included).
    func writeJSON(into w: inout JSONWriter) {
        w.byte(UInt8(ascii: "{"))
        w.key("kind", first: true)
        w.string(kind.rawValue)
        w.key("path")
        w.string(path)
        w.key("byte_size")
        w.int(Int(byteSize))
        w.key("head_sha256")
        w.string(headSHA256)
        w.key("duration")
        w.number(duration)
        w.key("frame_count")
        w.int(frameCount)
        w.key("width")
        w.int(width)
        w.key("height")
        w.int(height)
        w.key("fps")
        w.number(fps)
        w.key("frame_timestamps")
        w.array(frameTimestamps) { w, t in w.number(t) }
        w.key("images")
        w.array(images) { w, image in
            w.byte(UInt8(ascii: "{"))
            image.writeFields(into: &w)
            w.byte(UInt8(ascii: "}"))
        }
        w.key("sampling")
        if let sampling { sampling.writeJSON(into: &w) } else { w.raw("null") }
        w.byte(UInt8(ascii: "}"))
    }

    var jsonText: String {
        var w = JSONWriter()
        writeJSON(into: &w)
        return w.text
    }

    init(json: JSONValue, fail: (String) -> AnnotationError) throws {
        guard let object = json.objectValue else { throw fail("media must be an object") }
        func int(_ key: String) throws -> Int {
            guard let value = object[key]?.intValue else { throw fail("media.\(key) must be an integer") }
            return value
        }
        func number(_ key: String) throws -> Double {
            guard let value = object[key]?.doubleValue, value.isFinite else {
                throw fail("media.\(key) must be a number")
            }
            return value
        }
        guard let kindName = object["kind"]?.stringValue, let kind = Kind(rawValue: kindName) else {
            throw fail("media.kind must be \"video\" or \"images\"")
        }
        guard let path = object["path"]?.stringValue else { throw fail("media.path must be a string") }
        var images: [ImageDescriptor] = []
        for item in object["images"]?.arrayValue ?? [] {
            guard let image = item.objectValue, let imagePath = image["path"]?.stringValue,
                let width = image["width"]?.intValue, let height = image["height"]?.intValue, width > 0, height > 0,
                width <= MediaDescriptor.maximumSide, height <= MediaDescriptor.maximumSide
            else { throw fail("media.images must hold {path, width, height} objects") }
            images.append(
                ImageDescriptor(
                    path: imagePath, width: width, height: height,
                    byteSize: Int64(image["byte_size"]?.intValue ?? 0),
                    headSHA256: image["head_sha256"]?.stringValue ?? ""))
        }
        var sampling: FrameSampling?
        if let value = object["sampling"], !value.isNull { sampling = try FrameSampling(json: value, fail: fail) }
        let frameTimestamps =
            object["frame_timestamps"].map { $0.isNull ? [] : (try? readNumbers($0, name: "", fail: fail)) ?? [] } ?? []
        self.init(
            kind: kind, path: path, byteSize: Int64(try int("byte_size")),
            headSHA256: object["head_sha256"]?.stringValue ?? "", duration: try number("duration"),
            frameCount: try int("frame_count"), width: try int("width"), height: try int("height"),
            fps: try number("fps"), frameTimestamps: frameTimestamps, images: images, sampling: sampling)
        guard (0...MediaDescriptor.maximumFrameCount).contains(self.frameCount),
            (0...MediaDescriptor.maximumSide).contains(self.width), (0...MediaDescriptor.maximumSide).contains(self.height)
        else { throw fail("media sizes out of range (\(self.width)x\(self.height), \(self.frameCount) frames)") }
        guard frameTimestamps.isEmpty || frameTimestamps.count == frameCount else {
            throw fail("media.frame_timestamps has \(frameTimestamps.count) values for \(frameCount) frames")
        }
        guard kind != .images || images.count == frameCount else {
            throw fail("media.images has \(images.count) images for \(frameCount) frames")
        }
    }
}

extension QueryRecord {
    /// Timings, sampling and extras (the parts without their own column in the store).
    func detailsJSON() -> String {
        var w = JSONWriter(capacity: 256)
        writeDetails(into: &w)
        return w.text
    }

    func writeDetails(into w: inout JSONWriter) {
        w.byte(UInt8(ascii: "{"))
        w.key("timings", first: true)
        w.byte(UInt8(ascii: "{"))
        for (i, key) in timings.keys.sorted().enumerated() {
            if i > 0 { w.byte(UInt8(ascii: ",")) }
            w.string(key)
            w.byte(UInt8(ascii: ":"))
            w.number(timings[key] ?? 0)
        }
        w.byte(UInt8(ascii: "}"))
        w.key("sampling")
        if let sampling { sampling.writeJSON(into: &w) } else { w.raw("null") }
        w.key("extras")
        if let extras { w.rawString(extras) } else { w.raw("null") }
        w.byte(UInt8(ascii: "}"))
    }

    /// The full record, for file formats.
    func writeJSON(into w: inout JSONWriter) {
        w.byte(UInt8(ascii: "{"))
        w.key("id", first: true)
        w.int(Int(id))
        w.key("created_at")
        w.number(createdAt.timeIntervalSince1970)
        w.key("prompt")
        w.string(prompt)
        w.key("label")
        w.string(label)
        w.key("task")
        w.string(task)
        w.key("model")
        w.string(model)
        w.key("answer")
        w.string(answer)
        w.key("details")
        writeDetails(into: &w)
        w.byte(UInt8(ascii: "}"))
    }

    mutating func readDetails(_ json: JSONValue, fail: (String) -> AnnotationError) throws {
        guard let object = json.objectValue else { throw fail("query details must be an object") }
        var timings: [String: Double] = [:]
        for field in object["timings"]?.objectValue?.fields ?? [] {
            guard let value = field.value.doubleValue else { throw fail("query timing \(field.key) must be a number") }
            timings[field.key] = value
        }
        self.timings = timings
        if let value = object["sampling"], !value.isNull { sampling = try FrameSampling(json: value, fail: fail) }
        if let value = object["extras"], !value.isNull {
            guard value.objectValue != nil else { throw fail("query extras must be an object") }
            extras = value.jsonText
        }
    }

    init(json: JSONValue, fail: (String) -> AnnotationError) throws {
        guard let object = json.objectValue else { throw fail("a query must be an object") }
        func text(_ key: String) throws -> String {
            guard let value = object[key]?.stringValue else { throw fail("query.\(key) must be a string") }
            return value
        }
        self.init(
            id: Int64(object["id"]?.intValue ?? 0),
            createdAt: Date(timeIntervalSince1970: object["created_at"]?.doubleValue ?? 0),
            prompt: try text("prompt"), label: try text("label"), task: try text("task"), model: try text("model"),
            answer: try text("answer"))
        if let details = object["details"] { try readDetails(details, fail: fail) }
    }
}
