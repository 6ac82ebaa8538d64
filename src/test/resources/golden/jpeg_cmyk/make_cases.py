# Makes the 4-channel JPEG cases in this folder and Pillow's decoding of each: decoded.safetensors holds
# Image.open(path).convert("RGB") as U8 (H, W, 3), as VLM-R1 opens images. Needs Pillow 9.4 (Debian bookworm's
# python3-pil, libjpeg-turbo 2.1.5), a C compiler and libjpeg headers. Run: python3 make_cases.py
# cmyk2rgb.safetensors holds Pillow's CMYK -> RGB conversion for every (C, K) pair, without JPEG in the way.
import json
import os
import random
import struct
import subprocess
import tempfile

import PIL
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(20240612)


def cmyk_image(w, h):
    px = bytearray()
    for y in range(h):
        for x in range(w):
            px += bytes([(x * 255 // max(w - 1, 1)) & 255, (y * 255 // max(h - 1, 1)) & 255,
                         rng.randrange(256), ((x + y) * 5 + rng.randrange(40)) & 255])
    return Image.frombytes("CMYK", (w, h), bytes(px))


def drop_adobe(path):
    """Removes the APP14 Adobe segment, leaving a CMYK JPEG without it."""
    data = open(path, "rb").read()
    i = 2
    while data[i] == 0xFF and data[i + 1] != 0xDA:
        n = struct.unpack(">H", data[i + 2:i + 4])[0]
        if data[i + 1] == 0xEE and data[i + 4:i + 9] == b"Adobe":
            data = data[:i] + data[i + 2 + n:]
            break
        i += 2 + n
    open(path, "wb").write(data)


def set_adobe_transform(path, t):
    data = bytearray(open(path, "rb").read())
    i = data.index(b"Adobe")
    data[i + 11] = t
    open(path, "wb").write(bytes(data))


cases = {}
pillow_saves = [
    ("cmyk_q75_odd", (37, 23), {"quality": 75}),
    ("cmyk_q95_progressive", (70, 41), {"quality": 95, "progressive": True}),
    ("cmyk_q50_optimize", (16, 16), {"quality": 50, "optimize": True}),
    ("cmyk_q85_subsampled", (45, 33), {"quality": 85, "subsampling": 2}),
    ("cmyk_q90_tall", (9, 61), {"quality": 90, "subsampling": 1}),
]
for name, size, save in pillow_saves:
    cmyk_image(*size).save(os.path.join(HERE, name + ".jpg"), **save)
    cases[name] = {"file": name + ".jpg", "size": list(size), "mode": "CMYK", "save": save}

name = "cmyk_no_adobe_marker"
cmyk_image(31, 27).save(os.path.join(HERE, name + ".jpg"), quality=88)
drop_adobe(os.path.join(HERE, name + ".jpg"))
cases[name] = {"file": name + ".jpg", "size": [31, 27], "mode": "CMYK",
               "save": {"quality": 88, "then": "APP14 Adobe segment removed"}}

with tempfile.TemporaryDirectory() as tmp:
    exe = os.path.join(tmp, "write_4ch")
    subprocess.run(["cc", "-O2", "-o", exe, os.path.join(HERE, "write_4ch.c"), "-ljpeg"], check=True)
    written = [
        ("ycck_q85", 37, 29, "ycck", 1, 85, 0),
        ("ycck_q70_progressive", 66, 50, "ycck", 1, 70, 1),
        ("cmyk_libjpeg_no_adobe", 33, 21, "cmyk", 0, 90, 0),
        ("ycck_adobe_transform_1", 24, 18, "ycck", 1, 80, 0),
        # ImageIO's reader would call this YCCK (no marker, middle channels subsampled); libjpeg says CMYK
        ("cmyk_no_adobe_middle_subsampled", 29, 19, "cmyk", 0, 85, 0, "h2v2_middle"),
    ]
    for name, w, h, space, adobe, q, prog, *sampling in written:
        args = [exe, os.path.join(HERE, name + ".jpg"), str(w), str(h), space, str(adobe), str(q), str(prog),
                str(rng.randrange(1 << 30))] + sampling
        subprocess.run(args, check=True)
        cases[name] = {"file": name + ".jpg", "size": [w, h], "mode": "CMYK",
                       "save": {"write_4ch": " ".join(args[2:])}}
    # libjpeg decodes an unknown Adobe transform on 4 channels as YCCK (with a warning)
    set_adobe_transform(os.path.join(HERE, "ycck_adobe_transform_1.jpg"), 1)
    cases["ycck_adobe_transform_1"]["save"]["then"] = "Adobe transform byte set to 1"

header = {}
blobs = []
offset = 0
for name in sorted(cases):
    im = Image.open(os.path.join(HERE, cases[name]["file"]))
    assert im.mode == "CMYK", (name, im.mode)
    rgb = im.convert("RGB").tobytes()
    w, h = cases[name]["size"]
    header[name] = {"dtype": "U8", "shape": [h, w, 3], "data_offsets": [offset, offset + len(rgb)]}
    blobs.append(rgb)
    offset += len(rgb)
hb = json.dumps(header, separators=(",", ":")).encode()
hb += b" " * (-len(hb) % 8)
with open(os.path.join(HERE, "decoded.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(hb)) + hb + b"".join(blobs))
with open(os.path.join(HERE, "cases.json"), "w") as f:
    json.dump({"pillow": PIL.__version__, "libjpeg_turbo": "2.1.5", "cases": cases}, f, indent=1)

# cmyk2rgb alone, every (v, k): table[v, k] is the red channel of convert("RGB") for C = v, K = k.
grid = bytes(b for v in range(256) for k in range(256) for b in (v, 0, 0, k))
table = Image.frombytes("CMYK", (256, 256), grid).convert("RGB").tobytes()[0::3]
hb = json.dumps({"cmyk2rgb": {"dtype": "U8", "shape": [256, 256], "data_offsets": [0, len(table)]}},
                separators=(",", ":")).encode()
hb += b" " * (-len(hb) % 8)
with open(os.path.join(HERE, "cmyk2rgb.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(hb)) + hb + table)
