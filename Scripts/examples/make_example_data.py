#!/usr/bin/env python3
"""Writes the small example data sets under examples/data (outputs committed; README walkthroughs).

  examples/data/load.csv        1000 hourly rows: time, temp, load (daily + weekly cycles, noise,
                                a few empty cells in temp); the training file
  examples/data/load_test.csv   the next 240 hours, for rnn evaluate / rnn predict
  examples/data/chirps/         32 clips, 0.2 s, 8 kHz 16-bit mono WAV: a rising or a falling
                                chirp (500 <-> 2500 Hz) in noise; same spectrum, opposite order
  examples/data/chirps_y.npy    int64 labels [32] in file-name order (0 falling, 1 rising)
  examples/data/chirps_test/    8 more clips, chirps_test_y.npy their labels

Run from the repository root:  /work/venv/bin/python Scripts/examples/make_example_data.py
"""
import os
import wave

import numpy as np

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "data")


def load_series(rng, hours, start):
    t = np.arange(start, start + hours)
    temp = 12 + 6 * np.sin(2 * np.pi * (t - 9) / 24) + 3 * np.sin(2 * np.pi * t / (24 * 7)) + rng.normal(0, 0.8, hours)
    load = (500 + 80 * np.sin(2 * np.pi * (t - 6) / 24) + 40 * np.sin(2 * np.pi * (t - 12) / 12)
            - 25 * ((t // 24) % 7 >= 5) + 4 * (temp - 12) + rng.normal(0, 6, hours))
    return t, temp, load


def write_csv(path, t, temp, load, missing=()):
    with open(path, "w") as f:
        f.write("time,temp,load\n")
        for i in range(len(t)):
            day, hour = divmod(int(t[i]), 24)
            month_day = 1 + day  # January 2024 then February (dates as text: a non-numeric column)
            month = 1 if month_day <= 31 else 2 if month_day <= 60 else 3
            d = month_day - (0 if month == 1 else 31 if month == 2 else 60)
            stamp = f"2024-{month:02d}-{d:02d} {hour:02d}:00"
            temp_cell = "" if i in missing else f"{temp[i]:.2f}"
            f.write(f"{stamp},{temp_cell},{load[i]:.1f}\n")


def chirp(rng, rising, rate=8000, seconds=0.2):
    n = int(rate * seconds)
    t = np.arange(n) / rate
    f0, f1 = (500.0, 2500.0) if rising else (2500.0, 500.0)
    f0 *= rng.uniform(0.9, 1.1)
    f1 *= rng.uniform(0.9, 1.1)
    phase = 2 * np.pi * (f0 * t + (f1 - f0) * t * t / (2 * seconds))
    x = rng.uniform(0.3, 0.8) * np.sin(phase) * np.hanning(n) + rng.normal(0, 0.05, n)
    return np.clip(np.round(x * 32767), -32768, 32767).astype("<i2")


def write_wav(path, samples, rate=8000):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())


def chirp_set(rng, folder, count):
    os.makedirs(folder, exist_ok=True)
    labels = rng.permutation(np.arange(count) % 2)  # balanced, shuffled by file name
    for i, label in enumerate(labels):
        write_wav(os.path.join(folder, f"clip_{i:02d}.wav"), chirp(rng, bool(label)))
    return labels.astype(np.int64)


def main():
    rng = np.random.default_rng(2024)
    os.makedirs(ROOT, exist_ok=True)
    t, temp, load = load_series(rng, 1000, 0)
    missing = set(int(i) for i in rng.choice(np.arange(50, 950), size=6, replace=False))
    write_csv(os.path.join(ROOT, "load.csv"), t, temp, load, missing)
    t, temp, load = load_series(rng, 240, 1000)
    write_csv(os.path.join(ROOT, "load_test.csv"), t, temp, load)
    np.save(os.path.join(ROOT, "chirps_y.npy"), chirp_set(rng, os.path.join(ROOT, "chirps"), 32))
    np.save(os.path.join(ROOT, "chirps_test_y.npy"), chirp_set(rng, os.path.join(ROOT, "chirps_test"), 8))


if __name__ == "__main__":
    main()
