"""Writes the fuzz targets' seed corpora, Tests/Fuzz/<target>/: small valid (and a few nearly
valid) inputs for each parser. Needs ffmpeg on PATH for the video seeds; the `.pth` seeds are
copied from Tests/TensorIOTests/Fixtures/torch (written by make_torch_fixtures.py), and their
data.pkl records are the unpickler's seeds. Run from the repository root:
    python3 Tests/Fixtures/make_fuzz_seeds.py
"""
import json
import os
import shutil
import struct
import subprocess
import tempfile
import zipfile

ROOT = os.path.join("Tests", "Fuzz")
TORCH = os.path.join("Tests", "TensorIOTests", "Fixtures", "torch")


def write(target, name, data):
    folder = os.path.join(ROOT, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def safetensors(tensors, metadata=None):
    header, blob = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(raw)]}
        blob += raw
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + blob


def safetensors_seeds():
    write("safetensors", "f32_2x3", safetensors({"w": ("F32", [2, 3], struct.pack("<6f", *range(6)))}))
    write("safetensors", "mixed", safetensors({
        "a": ("F16", [2], struct.pack("<2e", 1.5, -2)),
        "b": ("BF16", [1, 2], b"\x80\x3f\x00\x40"),
        "c": ("I64", [1], struct.pack("<q", 7)),
        "d": ("U8", [3], b"\x01\x02\x03"),
        "e": ("F64", [], struct.pack("<d", 0.25)),
        "f": ("BOOL", [2], b"\x00\x01"),
    }, metadata={"format": "pt"}))
    write("safetensors", "empty", safetensors({}))
    write("safetensors", "zero_size", safetensors({"z": ("F32", [0, 4], b"")}))
    shutil.copy(os.path.join("Tests", "TensorIOTests", "Fixtures", "reference.safetensors"),
                os.path.join(ROOT, "safetensors", "reference"))


def torch_seeds():
    for name in sorted(os.listdir(TORCH)):
        if not name.endswith(".pth"):
            continue
        path = os.path.join(TORCH, name)
        with open(path, "rb") as f:
            write("torch-zip", name[:-4], f.read())
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                for entry in z.namelist():
                    if entry.endswith("data.pkl"):
                        write("unpickler", name[:-4], z.read(entry))
        else:
            with open(path, "rb") as f:
                write("unpickler", name[:-4], f.read())


CONFIG = """\
model: {preset: r2plus1d_18_tiny, num_classes: 10}
data:
  train_list: data/synth/train.txt
  val_list: data/synth/val.txt
  batch_size: 8
  workers: 2
  train_pipeline:
    transforms:
      - resize_short_side: {side: 73}
      - multi_scale_crop: {input_size: 64, scales: [1, 0.875], random_crop: true}
      - resize: {size: 64}
    normalization: kinetics
optimizer: {type: adamw, lr: 0.001, weight_decay: 0.0001, no_decay_norm_bias: true}
schedule: {epochs: 8, policy: cosine}
train: {seed: 0}
eval: {interval: 4, clips: 1, crops: 1}
output: {dir: runs/quickstart, keep_last: 2, save_best_by: top1}
"""


def config_seeds():
    write("config", "quickstart.yaml", CONFIG)
    write("config", "flow.yaml", CONFIG.replace("r2plus1d_18_tiny", "tsn_r18_flow_tiny")
          .replace("normalization: kinetics", "normalization: flow") + "  modality: flow\n")
    write("config", "anchors.yaml", "defaults: &d {lr: 0.01, momentum: 0.9}\noptimizer: {<<: *d, type: sgd}\n"
          "model: {preset: tsn_r18_tiny}\ndata: {train_list: a.txt}\n")
    write("config", "empty.yaml", "")


def multipart(parts, boundary="motive"):
    body = b""
    for headers, content in parts:
        body += b"--" + boundary.encode() + b"\r\n" + headers.encode() + b"\r\n\r\n" + content + b"\r\n"
    return body + b"--" + boundary.encode() + b"--\r\n"


def multipart_seeds():
    video = 'Content-Disposition: form-data; name="video"; filename="clip.mp4"\r\nContent-Type: video/mp4'
    other = 'Content-Disposition: form-data; name="window"'
    write("multipart", "video_only", b"\xff" + multipart([(video, b"\x00\x00\x00\x18ftypmp42")]))
    write("multipart", "two_parts", b"\x07" + multipart([(other, b"1s"), (video, b"abc\r\n--motiv")]))
    write("multipart", "no_video", b"\x00" + multipart([(other, b"2s")]))
    write("multipart", "unterminated", b"\x10" + multipart([(video, b"0123456789")])[:-10])


def annotation_seeds():
    write("annotations", "video_list", "\x00a/b.mp4 0\nclass two/c d.mp4 1\n\n")
    write("annotations", "rawframe_list", "\x01frames/a 32 3\nframes/b 16 9\n")
    write("annotations", "classes", "\x00left\nright\n  up  \n")
    write("annotations", "bad_label", "\x01a.mp4 12\n../x.mp4 -1\n")
    write("importers", "kinetics", "\x00label,youtube_id,time_start,time_end,split\n"
          "abseiling,--33Lscn6sk,4,14,train\n\"air, drumming\",--6bJUbfpnQ,17,27,train\n")
    write("importers", "kinetics_folders", "\x01label,youtube_id,time_start,time_end\nyoga,abc,0,10\n")
    write("importers", "ssv2", "\x02" + json.dumps([{"id": "1", "template": "Pushing [something] left"},
                                                     {"id": "2", "label": "x", "template": "Holding [something]"}])
          + "\x00" + json.dumps({"Pushing something left": "0", "Holding something": 1}))
    write("importers", "ucf101", "\x031 ApplyEyeMakeup\n2 Archery\n\x00ApplyEyeMakeup/v_a.avi 1\nArchery/v_b.avi\n")


def flo(width, height, values):
    return struct.pack("<fii", 202021.25, width, height) + struct.pack("<%df" % len(values), *values)


def flow_seeds():
    write("flo", "2x3", flo(3, 2, [x * 0.5 - 1 for x in range(12)]))
    write("flo", "1x1", flo(1, 1, [1e9, float("nan")]))
    write("flo", "empty", flo(0, 0, []))
    write("pgm", "3x2", b"P5\n3 2\n255\n" + bytes(range(0, 60, 10)))
    write("pgm", "comments", b"P5 # a comment\n2\n# more\n2 255\n\x00\x80\xff\x10")
    with open(os.path.join("Tests", "FlowTests", "Fixtures", "tree_small_0.pgm"), "rb") as f:
        write("pgm", "tree_small", f.read())


def video_seeds():
    with tempfile.TemporaryDirectory() as tmp:
        variants = {
            "h264.mp4": ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-bf", "2", "-g", "4"],
            "mpeg4.avi": ["-c:v", "mpeg4"],
            "mjpeg.avi": ["-c:v", "mjpeg"],
            "vp9.webm": ["-c:v", "libvpx-vp9", "-b:v", "50k"],
            "rotated.mp4": ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-metadata:s:v", "rotate=90"],
        }
        for name, codec in variants.items():
            out = os.path.join(tmp, name)
            subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=32x24:rate=8:duration=0.75"]
                           + codec + ["-y", out], check=True)
            with open(out, "rb") as f:
                write("video", name, f.read())


if __name__ == "__main__":
    safetensors_seeds()
    torch_seeds()
    config_seeds()
    multipart_seeds()
    annotation_seeds()
    flow_seeds()
    video_seeds()
