"""Makes the sample files the README's quick start uploads: ``face.png`` (a drawn face, 512x512)
and ``speech.wav`` (3 s of a synthetic, voice-like tone: 16 kHz mono, syllables of a gliding pitch;
no real speech). Run ``python samples/make_samples.py`` to make them again; they are committed."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent


def make_face(path: Path) -> None:
    image = Image.new("RGB", (512, 512), (214, 232, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 400, 512, 512), fill=(70, 90, 140))  # shoulders
    draw.ellipse((136, 70, 376, 380), fill=(241, 200, 165), outline=(150, 105, 80), width=4)  # face
    draw.pieslice((126, 50, 386, 250), 180, 360, fill=(90, 60, 40))  # hair
    for x in (200, 296):
        draw.ellipse((x - 22, 190, x + 22, 222), fill=(255, 255, 255), outline=(60, 40, 30), width=3)
        draw.ellipse((x - 9, 197, x + 9, 215), fill=(60, 90, 140))
    draw.line((256, 225, 246, 280, 262, 282), fill=(170, 120, 95), width=4)  # nose
    draw.arc((206, 285, 306, 345), 20, 160, fill=(160, 60, 60), width=6)  # smile
    image.save(path, "PNG", optimize=True)


def make_speech(path: Path, seconds: float = 3.0, rate: int = 16000) -> None:
    frames = bytearray()
    for i in range(int(seconds * rate)):
        t = i / rate
        syllable = (t * 4.0) % 1.0  # four "syllables" a second, each rising and falling
        envelope = math.sin(math.pi * syllable) ** 2 if syllable < 0.8 else 0.0
        pitch = 140 + 40 * math.sin(2 * math.pi * 0.7 * t)
        value = sum(math.sin(2 * math.pi * pitch * k * t) / k for k in (1, 2, 3))
        frames += struct.pack("<h", int(9000 * envelope * value / 1.8))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(frames))


if __name__ == "__main__":
    make_face(HERE / "face.png")
    make_speech(HERE / "speech.wav")
    print(f"wrote {HERE / 'face.png'} and {HERE / 'speech.wav'}")
