// libFuzzer entry: the WAV reader, then log-mel features of whatever it accepts.

func fuzzWAV(_ bytes: [UInt8]) {
  guard let audio = try? WAVAudio(bytes: bytes, source: "fuzz.wav") else { return }
  _ = audio.duration
  // Features at the file's own rate (small rates only: the filterbank setup dominates otherwise).
  if (8...48_000).contains(audio.sampleRate), let mel = try? LogMelSpectrogram(sampleRate: audio.sampleRate) {
    _ = try? mel(audio)
  }
}
