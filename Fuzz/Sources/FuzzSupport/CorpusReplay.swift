import Foundation

/// Runs a harness over files, for builds without libFuzzer (its `main` replaces this one when
/// built with `--sanitize=fuzzer -DFUZZING`): `FuzzJSON Corpus/json` feeds every file of the
/// folder to the harness once, so a crash input committed to the corpus fails in any build.
public enum CorpusReplay {
    public static func run(_ harness: (UnsafePointer<UInt8>, Int) -> CInt) {
        var count = 0
        for path in CommandLine.arguments.dropFirst() {
            let url = URL(fileURLWithPath: path)
            let files =
                (try? FileManager.default.contentsOfDirectory(at: url, includingPropertiesForKeys: nil)) ?? [url]
            for file in files.sorted(by: { $0.path < $1.path }) {
                guard let data = try? Data(contentsOf: file) else { continue }
                let bytes = [UInt8](data) + [0]  // never an empty buffer
                _ = bytes.withUnsafeBufferPointer { harness($0.baseAddress!, data.count) }
                count += 1
            }
        }
        print("replayed \(count) inputs")
    }
}
