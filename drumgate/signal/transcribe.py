"""Drum transcription of a drums stem by semi-adaptive NMF with fixed spectral templates.

How it works (details and measured accuracy in docs/musdb.md):

1. A mel magnitude spectrogram `V` (64 bands, 10 ms hop) of the mono stem (`drumgate.signal.spectral`:
   librosa's STFT, mel filters and peak picker, hand-written to the same floats).
2. Templates: one spectrum per drum class (kick, snare, hi-hat, tom, cymbal), learned from
   hits rendered by the seeded synthesizer in `drumgate.fixtures.synth` (mean spectrum of the
   frames above 10 % of the hit's peak energy, averaged over a few seeds). Rendering them takes
   seconds, so the default spectrogram's templates ship as `drumgate/defaults/drum_templates.json`
   (a test proves the file equals a fresh render); other settings render them at first use.
3. Semi-adaptive NMF (Dittmar and Gaertner 2014) under the KL divergence: `V ~ W H`, where the
   template matrix `W` starts at the fixed templates and may adapt to the recording only
   gradually: after every multiplicative update `W = a W0 + (1 - a) W_upd` with
   `a = (1 - k / iterations) ** adapt_exponent`.
4. Per class, the activation row is normalised to its maximum, its half-wave rectified first
   difference is peak-picked (librosa's picker, a per-class `delta`), and each peak is moved to
   the nearest detected onset when one lies within `snap_s` (onset detection gives the better
   time, NMF gives the class).
5. Confidence is the class's share of all template activations at the peak frame; a class may
   demand a minimum share (`min_share`: the snare template also catches kick-beater clicks) and
   give way to a rival class (`rivals`): a cymbal peak is dropped when the hi-hat's activation at
   that frame is at least half the cymbal's, because an open hat's spectrum lies between the two
   templates and NMF splits it across both, while a crash leaves the hat template almost idle.
6. Yielding (`yield_to`, `drumgate.signal.hit_rules`): a tom hit at the same onset (within `snap_s`)
   as a kick or snare hit of larger share is dropped: NMF split that one hit across templates.
7. Re-strikes (`restrike_*`, same module): an onset no peak claimed, within `restrike_s` after a
   hit, repeats its drum labels when the total magnitude climbs again there (a flam or double
   the picker's `wait` hides; a second detection on one hit's decay brings no new energy).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from drumgate.errors import DrumgateError
from drumgate.fixtures import synth
from drumgate.io.jsonio import read_json, write_json
from drumgate.progress import progress
from drumgate.signal.hit_rules import find_restrikes, yielded
from drumgate.signal.spectral import mel_filter_bank, peak_pick, stft_magnitude
from drumgate.workspace import DEFAULTS

TEMPLATE_CLASSES: tuple[str, ...] = ("kick", "snare", "hihat", "tom", "cymbal")
TEMPLATE_SOURCES: dict[str, str] = {
    "kick": "kick",
    "snare": "snare",
    "hihat": "hihat",
    "tom": "tom_mid",
    "cymbal": "crash",
}
TEMPLATE_SR = 44100
TEMPLATE_SEEDS = (0, 1, 2, 3)
SHIPPED_TEMPLATES = DEFAULTS / "drum_templates.json"  # rewrite: save_templates(SHIPPED_TEMPLATES)
EPS = 1e-12


@dataclass(frozen=True)
class TranscribeParams:
    n_mels: int = 64
    fmin: float = 20.0
    fmax: float = 18000.0
    hop_s: float = 0.01
    fft_s: float = 0.0464
    iterations: int = 30
    adapt_exponent: float = 8.0
    deltas: Mapping[str, float] = field(
        default_factory=lambda: {"kick": 0.1, "snare": 0.1, "hihat": 0.06, "tom": 0.1, "cymbal": 0.08}
    )
    pre_max_s: float = 0.03
    post_max_s: float = 0.03
    avg_s: float = 0.1
    wait_s: float = 0.05
    snap_s: float = 0.03
    min_share: Mapping[str, float] = field(default_factory=lambda: {"snare": 0.25, "tom": 0.15, "cymbal": 0.3})
    rivals: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: {"cymbal": {"hihat": 0.5}})
    yield_to: Mapping[str, Sequence[str]] = field(default_factory=lambda: {"tom": ("kick", "snare")})
    restrike_s: float = 0.06
    restrike_rise: float = 0.1
    restrike_classes: tuple[str, ...] = ("snare", "tom")

    @classmethod
    def from_mapping(cls, raw: Mapping[str, object]) -> TranscribeParams:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            raise DrumgateError(f"unknown transcription parameter(s): {', '.join(unknown)}")
        values = dict(raw)
        if "deltas" in values:
            values["deltas"] = {**cls().deltas, **dict(values["deltas"])}  # type: ignore[arg-type]
        if "min_share" in values:
            values["min_share"] = dict(values["min_share"])  # type: ignore[arg-type]
        if "rivals" in values:
            values["rivals"] = {name: dict(ratios) for name, ratios in dict(values["rivals"]).items()}  # type: ignore[call-overload]
        if "yield_to" in values:
            values["yield_to"] = {name: tuple(others) for name, others in dict(values["yield_to"]).items()}  # type: ignore[call-overload]
        for key in ("deltas", "min_share"):
            _known_classes({name: () for name in dict(raw.get(key, {}))}, key)  # type: ignore[call-overload]
        _known_classes(values.get("rivals", {}), "rivals")  # type: ignore[arg-type]
        _known_classes(values.get("yield_to", {}), "yield_to")  # type: ignore[arg-type]
        if "restrike_classes" in values:
            values["restrike_classes"] = tuple(values["restrike_classes"])  # type: ignore[arg-type]
            _known_classes({name: () for name in values["restrike_classes"]}, "restrike_classes")
        return cls(**values)  # type: ignore[arg-type]


def _known_classes(table: Mapping[str, Iterable[str]], key: str) -> None:
    named = set(table) | {other for others in table.values() for other in others}
    strangers = sorted(named - set(TEMPLATE_CLASSES))
    if strangers:
        raise DrumgateError(f"transcription.{key} names unknown class(es): {', '.join(strangers)}",
                            hint=f"fix: use the template classes there ({', '.join(TEMPLATE_CLASSES)})")


@dataclass(frozen=True)
class DrumHit:
    time_s: float
    label: str
    confidence: float
    activation: float
    snapped: bool


@dataclass(frozen=True)
class Transcription:
    hits: tuple[DrumHit, ...]
    activations: np.ndarray
    frame_times: np.ndarray
    classes: tuple[str, ...] = TEMPLATE_CLASSES


def _fft_size(sr: int, fft_s: float) -> int:
    return int(2 ** np.ceil(np.log2(max(16.0, fft_s * sr))))


def mel_spectrogram(signal: np.ndarray, sr: int, params: TranscribeParams) -> np.ndarray:
    n_fft = _fft_size(sr, params.fft_s)
    hop = max(1, round(params.hop_s * sr))
    magnitude = stft_magnitude(np.asarray(signal, dtype=np.float64), n_fft, hop)
    bank = _mel_bank(sr, n_fft, params.n_mels, params.fmin, min(params.fmax, sr / 2))
    return bank @ magnitude


@functools.lru_cache(maxsize=8)
def _mel_bank(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    return mel_filter_bank(sr, n_fft, n_mels, fmin, fmax)


def _template_for(
    instrument: str, params: TranscribeParams, advance: Callable[[int], object] | None = None
) -> np.ndarray:
    total = np.zeros(params.n_mels)
    for seed in TEMPLATE_SEEDS:
        hit = synth.Hit(0.05, instrument, 127)
        audio = synth.render([hit], 2.0, sr=TEMPLATE_SR, seed=seed, noise_floor=0.0)
        spectrum = mel_spectrogram(audio, TEMPLATE_SR, params)
        energy = spectrum.sum(axis=0)
        total += spectrum[:, energy > 0.1 * energy.max()].mean(axis=1)
        if advance is not None:
            advance(1)
    return total / total.sum()


SpectrogramKey = tuple[int, float, float, float, float]


def _spectrogram_key(params: TranscribeParams) -> SpectrogramKey:
    return (params.n_mels, params.fmin, params.fmax, params.hop_s, params.fft_s)


@functools.lru_cache(maxsize=4)
def _generated_templates(key: SpectrogramKey) -> tuple[tuple[float, ...], ...]:
    n_mels, fmin, fmax, hop_s, fft_s = key
    params = TranscribeParams(n_mels=n_mels, fmin=fmin, fmax=fmax, hop_s=hop_s, fft_s=fft_s)
    # Rendering the template hits takes seconds, once per process: worth a bar of its own.
    with progress(len(TEMPLATE_CLASSES) * len(TEMPLATE_SEEDS), "building drum templates", "render") as bar:
        return tuple(
            tuple(float(v) for v in _template_for(TEMPLATE_SOURCES[name], params, bar.update))
            for name in TEMPLATE_CLASSES
        )


def _render_settings(key: SpectrogramKey) -> dict[str, object]:
    """Everything a render depends on besides the code: a saved file is reused only when it matches."""
    n_mels, fmin, fmax, hop_s, fft_s = key
    return {
        "n_mels": n_mels,
        "fmin": fmin,
        "fmax": fmax,
        "hop_s": hop_s,
        "fft_s": fft_s,
        "sr": TEMPLATE_SR,
        "seeds": list(TEMPLATE_SEEDS),
        "sources": TEMPLATE_SOURCES,
    }


@functools.lru_cache(maxsize=1)
def _shipped_templates() -> tuple[dict[str, object], tuple[tuple[float, ...], ...]] | None:
    if not SHIPPED_TEMPLATES.is_file():
        return None
    document = read_json(SHIPPED_TEMPLATES)
    settings = {key: value for key, value in document.items() if key != "templates"}
    return settings, tuple(tuple(float(v) for v in document["templates"][name]) for name in TEMPLATE_CLASSES)


def drum_templates(params: TranscribeParams | None = None) -> dict[str, list[float]]:
    """Template spectra per class (mel bands, each summing to 1): the shipped ones for the default
    spectrogram, else rendered deterministically."""
    key = _spectrogram_key(params or TranscribeParams())
    shipped = _shipped_templates()
    if shipped is not None and shipped[0] == _render_settings(key):
        generated = shipped[1]
    else:
        generated = _generated_templates(key)
    return {name: list(values) for name, values in zip(TEMPLATE_CLASSES, generated, strict=True)}


def save_templates(path: str | Path, params: TranscribeParams | None = None) -> None:
    """Render the templates afresh (never from a saved file) and write them with their settings."""
    key = _spectrogram_key(params or TranscribeParams())
    rendered = _generated_templates(key)
    templates = {name: list(values) for name, values in zip(TEMPLATE_CLASSES, rendered, strict=True)}
    write_json(path, {**_render_settings(key), "templates": templates})


def load_templates(path: str | Path, params: TranscribeParams | None = None) -> dict[str, list[float]]:
    chosen = params or TranscribeParams()
    data = read_json(path)
    templates = data.get("templates") if isinstance(data, dict) else None
    if not isinstance(templates, dict) or set(templates) != set(TEMPLATE_CLASSES):
        raise DrumgateError(f"templates must name exactly {', '.join(TEMPLATE_CLASSES)}", path=path)
    if any(len(v) != chosen.n_mels for v in templates.values()):
        raise DrumgateError(f"each template needs {chosen.n_mels} mel bands", path=path)
    return {name: [float(x) for x in templates[name]] for name in TEMPLATE_CLASSES}


def semi_adaptive_nmf(
    spectrogram: np.ndarray, templates: np.ndarray, iterations: int, adapt_exponent: float
) -> tuple[np.ndarray, np.ndarray]:
    """KL-divergence NMF whose templates drift from `templates` only as iterations progress.

    The products are thin (bands x 5 templates), so BLAS runs single-threaded: multi-threading
    them only adds contention.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _nmf_updates(spectrogram, templates, iterations, adapt_exponent)


def _nmf_updates(
    spectrogram: np.ndarray, templates: np.ndarray, iterations: int, adapt_exponent: float
) -> tuple[np.ndarray, np.ndarray]:
    fixed = np.maximum(templates, EPS) / (templates.sum(axis=0, keepdims=True) + EPS)
    spectrogram = np.maximum(spectrogram, EPS)
    basis = fixed.copy()
    frames = spectrogram.shape[1]
    gains = np.full((basis.shape[1], frames), float(spectrogram.mean()) / basis.shape[1] + EPS)
    for step in range(iterations):
        ratio = spectrogram / (basis @ gains + EPS)
        gains *= (basis.T @ ratio) / (basis.sum(axis=0)[:, None] + EPS)
        np.maximum(gains, EPS, out=gains)
        ratio = spectrogram / (basis @ gains + EPS)
        updated = basis * (ratio @ gains.T) / (gains.sum(axis=1)[None, :] + EPS)
        keep = (1.0 - step / iterations) ** adapt_exponent
        basis = keep * fixed + (1.0 - keep) * updated
        basis /= basis.sum(axis=0, keepdims=True) + EPS
        np.maximum(basis, EPS, out=basis)
    return basis, gains


def _frames(seconds: float, hop_s: float) -> int:
    return max(1, round(seconds / hop_s))


def _class_peaks(activation: np.ndarray, delta: float, params: TranscribeParams) -> np.ndarray:
    scale = float(activation.max())
    if scale <= EPS or len(activation) < 3:
        return np.zeros(0, dtype=int)
    normalised = activation / scale
    novelty = np.maximum(0.0, np.diff(normalised, prepend=normalised[0]))
    return peak_pick(
        novelty,
        pre_max=_frames(params.pre_max_s, params.hop_s),
        post_max=_frames(params.post_max_s, params.hop_s),
        pre_avg=_frames(params.avg_s, params.hop_s),
        post_avg=_frames(params.avg_s, params.hop_s),
        delta=delta,
        wait=_frames(params.wait_s, params.hop_s),
    )


def _snap(time_s: float, onset_times: np.ndarray, snap_s: float) -> tuple[float, bool]:
    if len(onset_times) == 0:
        return time_s, False
    nearest = int(np.argmin(np.abs(onset_times - time_s)))
    if abs(onset_times[nearest] - time_s) <= snap_s:
        return float(onset_times[nearest]), True
    return time_s, False


def transcribe(
    signal: np.ndarray,
    sr: int,
    onset_times: Sequence[float] | np.ndarray = (),
    params: TranscribeParams | None = None,
    templates: Mapping[str, Sequence[float]] | None = None,
) -> Transcription:
    """Classified drum hits of a mono signal, sorted by time then class."""
    chosen = params or TranscribeParams()
    mono = np.asarray(signal, dtype=np.float64)
    if mono.ndim != 1:
        raise DrumgateError("transcribe expects a mono signal (mix the channels down first)")
    table = templates or drum_templates(chosen)
    basis = np.stack([np.asarray(table[name], dtype=np.float64) for name in TEMPLATE_CLASSES], axis=1)
    spectrogram = mel_spectrogram(mono, sr, chosen)
    _, gains = semi_adaptive_nmf(spectrogram, basis, chosen.iterations, chosen.adapt_exponent)
    frame_times = np.arange(gains.shape[1]) * (max(1, round(chosen.hop_s * sr)) / sr)
    onsets = np.sort(np.asarray(onset_times, dtype=np.float64))
    total = gains.sum(axis=0) + EPS
    hits: list[DrumHit] = []
    for index, name in enumerate(TEMPLATE_CLASSES):
        for frame in _class_peaks(gains[index], chosen.deltas.get(name, 0.1), chosen):
            apex = int(min(len(frame_times) - 1, frame + 1))
            share = float(gains[index, apex] / total[apex])
            if share < chosen.min_share.get(name, 0.0):
                continue
            if _outweighed_by_rival(gains[:, apex], name, chosen.rivals.get(name, {})):
                continue
            time_s, snapped = _snap(float(frame_times[frame]), onsets, chosen.snap_s)
            hits.append(_hit(gains, total, apex, name, time_s, snapped))
    hits.sort(key=lambda hit: (hit.time_s, TEMPLATE_CLASSES.index(hit.label)))
    hits = _dedupe(hits)
    gone = yielded([(hit.time_s, hit.label, hit.confidence) for hit in hits], chosen.yield_to, chosen.snap_s)
    hits = [hit for hit, drop in zip(hits, gone, strict=True) if not drop]
    # drums struck again while still ringing: the peak picker cannot see them (drumgate.signal.hit_rules)
    pairs, energy = [(hit.time_s, hit.label) for hit in hits], spectrogram.sum(axis=0)
    rules = (chosen.restrike_s, chosen.restrike_rise, chosen.snap_s, chosen.restrike_classes)
    for again in find_restrikes(pairs, onsets, energy, frame_times, *rules):
        hits.append(_hit(gains, total, again.frame, again.label, again.time_s, True))
    hits.sort(key=lambda hit: (hit.time_s, TEMPLATE_CLASSES.index(hit.label)))
    return Transcription(tuple(hits), gains, frame_times)


def _hit(gains: np.ndarray, total: np.ndarray, apex: int, label: str, time_s: float, snapped: bool) -> DrumHit:
    index = TEMPLATE_CLASSES.index(label)
    share = round(min(1.0, max(0.0, float(gains[index, apex] / total[apex]))), 4)
    return DrumHit(round(time_s, 6), label, share, round(float(gains[index, apex]), 6), snapped)


def _outweighed_by_rival(frame_gains: np.ndarray, name: str, rivals: Mapping[str, float]) -> bool:
    """True when a rival class's activation reaches `ratio` times this class's at the same frame."""
    own = float(frame_gains[TEMPLATE_CLASSES.index(name)])
    return any(float(frame_gains[TEMPLATE_CLASSES.index(rival)]) >= ratio * own for rival, ratio in rivals.items())


def _dedupe(hits: list[DrumHit]) -> list[DrumHit]:
    """Two peaks of one class snapped to the same onset are one hit (the stronger one)."""
    best: dict[tuple[float, str], DrumHit] = {}
    for hit in hits:
        key = (hit.time_s, hit.label)
        if key not in best or hit.activation > best[key].activation:
            best[key] = hit
    return [hit for hit in hits if best[(hit.time_s, hit.label)] is hit]


def combine_onsets(times: Sequence[float] | np.ndarray, window_s: float = 0.03) -> np.ndarray:
    """Merge onsets closer than `window_s` into the first one (class-agnostic evaluation)."""
    merged: list[float] = []
    for time_s in np.sort(np.asarray(times, dtype=np.float64)):
        if not merged or time_s - merged[-1] > window_s:
            merged.append(float(time_s))
    return np.asarray(merged)
