"""drumgate.signal.spectral gives librosa's floats: the STFT magnitude, the mel filter bank and the
peak picker the transcriber uses, compared on several signals with the transcriber's parameters."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from drumgate.fixtures import synth
from drumgate.signal import spectral, transcribe

librosa = pytest.importorskip("librosa")


def _signals(sr: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    seconds = np.arange(2 * sr) / sr
    clicks = np.zeros(2 * sr)
    clicks[:: sr // 7] = 1.0
    hits = [synth.Hit(0.05, "kick", 127), synth.Hit(0.5, "snare", 100), synth.Hit(0.9, "crash", 90)]
    return {
        "noise": rng.standard_normal(2 * sr) * 0.3,
        "chirp": np.sin(2 * np.pi * (50 + 2000 * seconds) * seconds),
        "clicks": clicks,
        "silence": np.zeros(2 * sr),
        "shorter than a frame": rng.standard_normal(700),
        "drum hits": np.asarray(synth.render(hits, 2.0, sr=sr, seed=1), dtype=np.float64),
    }


@pytest.mark.parametrize("sr", [44100, 22050])
def test_the_stft_magnitude_is_librosas_to_the_bit(sr: int) -> None:
    params = transcribe.TranscribeParams()
    n_fft, hop = transcribe._fft_size(sr, params.fft_s), round(params.hop_s * sr)
    for name, signal in _signals(sr).items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # librosa warns that n_fft exceeds the short signal
            expected = np.abs(librosa.stft(signal, n_fft=n_fft, hop_length=hop, center=True))
        ours = spectral.stft_magnitude(signal, n_fft, hop)
        assert ours.shape == expected.shape, name
        assert np.array_equal(ours, expected), f"{name}: max abs difference {np.max(np.abs(ours - expected))}"
        assert ours.flags.f_contiguous  # librosa's layout, so the mel product sums in the same order


BANKS = [(44100, 2048, 18000.0), (22050, 1024, 11025.0), (16000, 1024, 8000.0)]


@pytest.mark.parametrize(("sr", "n_fft", "fmax"), BANKS)
def test_the_mel_filter_bank_is_librosas_to_the_bit(sr: int, n_fft: int, fmax: float) -> None:
    expected = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=64, fmin=20.0, fmax=fmax)
    ours = spectral.mel_filter_bank(sr, n_fft, 64, 20.0, fmax)
    assert ours.dtype == expected.dtype == np.float32
    assert np.array_equal(ours, expected)


def test_the_peak_picker_picks_what_librosas_picks() -> None:
    rng = np.random.default_rng(3)
    for trial in range(100):
        novelty = np.maximum(0.0, np.diff(rng.random(2000) ** 4))
        settings = {"pre_max": 3, "post_max": 3, "pre_avg": 10, "post_avg": 10, "wait": 5,
                    "delta": [0.06, 0.08, 0.1][trial % 3]}
        assert np.array_equal(spectral.peak_pick(novelty, **settings), librosa.util.peak_pick(novelty, **settings))
    edges = {"pre_max": 0, "post_max": 1, "pre_avg": 0, "post_avg": 1, "delta": 0.0, "wait": 0}
    for values in (np.zeros(5), np.ones(1), np.array([3.0, 1.0, 3.0, 3.0])):
        assert np.array_equal(spectral.peak_pick(values, **edges), librosa.util.peak_pick(values, **edges))


def test_a_transcription_is_the_same_as_with_librosas_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    hits = [synth.Hit(0.1 + 0.25 * k, name, 110) for k, name in enumerate(["kick", "snare", "hihat", "tom_mid"] * 3)]
    audio = synth.render(hits, 3.5, sr=44100, seed=5)
    ours = transcribe.transcribe(audio, 44100, [hit.time_s for hit in hits])
    monkeypatch.setattr(transcribe, "stft_magnitude",
                        lambda y, n_fft, hop: np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop, center=True)))
    monkeypatch.setattr(transcribe, "peak_pick", librosa.util.peak_pick)
    transcribe._mel_bank.cache_clear()
    monkeypatch.setattr(transcribe, "mel_filter_bank",
                        lambda sr, n_fft, n_mels, fmin, fmax: librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels,
                                                                                  fmin=fmin, fmax=fmax))
    theirs = transcribe.transcribe(audio, 44100, [hit.time_s for hit in hits])
    transcribe._mel_bank.cache_clear()
    assert ours.hits == theirs.hits and ours.hits
    assert np.array_equal(ours.activations, theirs.activations)
