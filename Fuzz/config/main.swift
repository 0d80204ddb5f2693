// The YAML job-config loader from text: YAML, schema check, decoding and validation (`_base_`
// includes aside, which read files).
import FuzzDriver
import Training

runFuzzer { input in
    _ = try? ConfigLoader.parse(input.text)
}
