"""The learned classifier at intake: weights as data (NPZ, no pickle), applied with numpy alone.

A model is one logistic regression per intent over ``handlers.features`` (a sorted vocabulary
of feature hashes, their idf, a weight matrix and a bias per intent), a Platt calibration per
intent (probability = 1 / (1 + exp(a * score + b))) and the thresholds cross-validation chose.
It is trained by ``handlers.training`` (scikit-learn, never imported here) and stored as NPZ bytes,
packaged (``handlers/data/model.npz``) or in the database (``privacy-desk train``); loading reads
arrays only (``allow_pickle=False``), so a model file cannot run code.

The process keeps one active model (``active()``/``use()``): the packaged one until the command
or service installs the database's (``bot.learning``). Intake worker processes get the same one
through the pool's initialiser.
"""

from __future__ import annotations

import functools
import io
import json
import mmap
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from handlers.features import Extracted, extract

PACKAGED = "model.npz"
TOP_FEATURES = 5
# Beside one column per intent, a model has one for "a rights request of any kind": the words of
# wanting something done to one's data, whichever right. Where no single right reaches its
# threshold this one may (``handlers.classify.combine``). Older models have no such column.
ANY_RIGHTS = "any_rights"

Floats = npt.NDArray[np.float32]
# The weights are kept in half precision: they are most of a model's memory (features x intents),
# every intake worker holds its own copy, and a weight's 3 significant digits change no decision
# a probability's 2 digits show. They are widened to float32 for the few rows a message uses.
WEIGHTS = np.float16


def distinct_counts(
    hashes: npt.NDArray[np.uint64],
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.intp]]:
    """The distinct values of ``hashes``, sorted, and how often each occurs (as ``np.unique``
    with ``return_counts``, in half its time: numpy 2 sorts 64-bit integers with SIMD, a 5 KB
    message's 5,000 features in about 25 µs). A counting table by the hashes' low bits, used
    here before, cost three times as much on numpy 2 (bench/parse_classify.py)."""
    ordered = np.sort(hashes)
    if not len(ordered):
        return ordered, np.zeros(0, dtype=np.intp)
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    return ordered[starts], np.diff(np.append(starts, len(ordered)))


# The vocabulary is a sorted array of well-mixed 64-bit hashes, so the top bits of a hash say
# nearly where it stands: a table of where each run of the same top ``_BUCKET_BITS`` bits starts
# (1 MiB) leaves a few steps of a vectorised walk, instead of a binary search's twenty cache
# misses for each of a message's thousand distinct features (0.13 -> 0.04 ms a message, measured
# on the shipped model's 646k features).
_BUCKET_BITS = 18


class VocabularyIndex:
    """Where a model's features stand in its sorted vocabulary."""

    def __init__(
        self,
        vocabulary: npt.NDArray[np.uint64],
        built: tuple[npt.NDArray[np.uint32], int] | None = None,
    ) -> None:
        self.vocabulary = vocabulary
        self._shift = np.uint64(64 - _BUCKET_BITS)
        if built is not None:  # the table as another process built it (``shared``)
            self._starts, self._widest = built
            return
        starts = self._starts = np.empty(1 << _BUCKET_BITS, dtype=np.uint32)
        # Built a slice at a time: whole, its temporaries would cost a process 5 MiB more.
        step = 1 << 12
        for first in range(0, len(starts), step):
            bounds = np.arange(first, first + step, dtype=np.uint64) << self._shift
            starts[first : first + step] = np.searchsorted(vocabulary, bounds)
        # The longest run that shares its top bits: the most steps ``find`` may take.
        self._widest = 0
        for first in range(0, len(starts), step):
            run_starts = starts[first : first + step + 1]  # and where the next slice's first starts
            if first + step >= len(starts):
                run_starts = np.append(run_starts, np.uint32(len(vocabulary)))
            self._widest = max(self._widest, int(np.diff(run_starts).max()))

    def find(
        self, keys: npt.NDArray[np.uint64]
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
        """For each key, its position in the vocabulary and whether it is there (positions of
        keys that are not there mean nothing)."""
        vocabulary = self.vocabulary
        if not len(vocabulary):
            return np.zeros(len(keys), dtype=np.intp), np.zeros(len(keys), dtype=bool)
        position = self._starts[keys >> self._shift].astype(np.intp)
        # Each step moves every key still above the vocabulary entry it stands at: no key moves
        # past the end of its run, so at most ``_widest`` steps (12 for the shipped model, 7 for a
        # typical message).
        for _ in range(self._widest):
            behind = np.take(vocabulary, position, mode="clip") < keys
            if not behind.any():
                break
            position += behind
        hit = (position < len(vocabulary)) & (np.take(vocabulary, position, mode="clip") == keys)
        return position, hit


class ModelError(ValueError):
    """Bytes that are not a model this code can apply."""


@dataclass(frozen=True, eq=False)
class Prediction:
    """The model's view of one message: a calibrated probability per intent, and on request the
    features that weighed most for an intent (computed only when asked: intake asks for the few
    intents it decides)."""

    version: str
    probability: dict[str, float]
    _explain: Callable[[str], tuple[str, ...]] | None = None

    def top_features(self, intent: str) -> tuple[str, ...]:
        return self._explain(intent) if self._explain is not None else ()


@dataclass(frozen=True, eq=False)
class Model:
    version: str
    intents: tuple[str, ...]
    vocabulary: npt.NDArray[np.uint64]  # sorted feature hashes
    idf: Floats  # per vocabulary entry
    weights: npt.NDArray[np.float16]  # vocabulary × intents, half precision (``WEIGHTS``)
    bias: Floats  # per intent
    platt: Floats  # intents × 2: a, b
    thresholds: dict[str, float]  # the model alone decides an intent at this probability
    meta: dict[str, Any] = field(default_factory=dict)

    @functools.cached_property
    def index(self) -> VocabularyIndex:
        """The vocabulary's lookup table, built when the model first reads a message."""
        return VocabularyIndex(self.vocabulary)

    @property
    def masks(self) -> bool:
        """Whether the model was trained with the rules' refused phrases masked (``extract``):
        then it reads a message so too; an older model reads the text as it stands."""
        return bool(self.meta.get("masked"))

    def probabilities(
        self, subject: str, text: str, masked: Sequence[str] = ()
    ) -> tuple[Floats, Extracted, Any]:
        """Calibrated probabilities per intent (``intents`` order), and what explains them."""
        found = extract(subject, text, masked if self.masks else ())
        hashes = found.hashes
        if len(self.vocabulary) == 0 or len(hashes) == 0:
            return self._calibrate(self.bias.copy()), found, None
        # Each distinct feature is looked up once, in sorted order (kind to the cache).
        distinct, counts = distinct_counts(hashes)
        idx, hit = self.index.find(distinct)
        if not hit.any():
            return self._calibrate(self.bias.copy()), found, None
        unique = idx[hit]
        x = (1.0 + np.log(counts[hit].astype(np.float32))) * self.idf[unique]
        x /= np.float32(np.sqrt(float(np.dot(x, x))))
        rows = self.weights[unique].astype(np.float32)
        scores: Floats = np.asarray(x @ rows + self.bias, dtype=np.float32)
        return self._calibrate(scores), found, (x, rows, distinct[hit])

    def _calibrate(self, scores: Floats) -> Floats:
        z = np.clip(self.platt[:, 0] * scores + self.platt[:, 1], -50.0, 50.0)
        result: Floats = (1.0 / (1.0 + np.exp(z))).astype(np.float32)
        return result

    def predict(self, subject: str, text: str, masked: Sequence[str] = ()) -> Prediction:
        """The probability of every intent; ``top_features`` says what weighed most. ``masked``:
        the phrases the rules read as refused or withdrawn (``Classification.masked``)."""
        probs, found, why = self.probabilities(subject, text, masked)
        probability = {i: float(p) for i, p in zip(self.intents, probs, strict=True)}
        if why is None:
            return Prediction(self.version, probability)
        x, rows, hashes = why
        column_of = {intent: k for k, intent in enumerate(self.intents)}

        def explain(intent: str) -> tuple[str, ...]:
            # Each feature's share of the intent's score, computed only when asked.
            column = x * rows[:, column_of[intent]]
            top = min(TOP_FEATURES, len(column))
            best = np.argpartition(-column, top - 1)[:top]
            order = best[np.argsort(-column[best])]
            names = found.names_of(hashes[order[column[order] > 0]])
            return tuple(dict.fromkeys(names))

        return Prediction(self.version, probability, explain)

    def dumps(self) -> bytes:
        """The model as NPZ bytes (arrays and one JSON header; no pickled objects)."""
        header = {
            "format": 1,
            "version": self.version,
            "intents": list(self.intents),
            "thresholds": self.thresholds,
            "meta": self.meta,
        }
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            header=np.frombuffer(json.dumps(header, ensure_ascii=False).encode(), dtype=np.uint8),
            vocabulary=self.vocabulary,
            idf=self.idf,
            weights=self.weights,
            bias=self.bias,
            platt=self.platt,
        )
        return buffer.getvalue()


def loads(data: bytes) -> Model:
    """A model from NPZ bytes; ``ModelError`` when they are not one."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            header = json.loads(bytes(npz["header"]).decode())
            model = Model(
                version=str(header["version"]),
                intents=tuple(header["intents"]),
                # copy=False: an array already of its type is not copied (a model's worth of RSS).
                vocabulary=npz["vocabulary"].astype(np.uint64, copy=False),
                idf=npz["idf"].astype(np.float32, copy=False),
                weights=npz["weights"].astype(WEIGHTS, copy=False),
                bias=npz["bias"].astype(np.float32, copy=False),
                platt=npz["platt"].astype(np.float32, copy=False),
                thresholds={str(k): float(v) for k, v in header["thresholds"].items()},
                meta=dict(header.get("meta", {})),
            )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"not a privacy-desk model: {exc}") from None
    n, k = len(model.vocabulary), len(model.intents)
    if (
        model.weights.shape != (n, k)
        or model.idf.shape != (n,)
        or model.bias.shape != (k,)
        or model.platt.shape != (k, 2)
        or set(model.thresholds) != set(model.intents)
    ):
        raise ModelError("not a privacy-desk model: its arrays do not fit together")
    return model


def packaged_bytes() -> bytes:
    return resources.files("handlers").joinpath("data", PACKAGED).read_bytes()


_active: Model | None = None
_data: bytes | None = None  # the NPZ bytes of a model installed from elsewhere than the package
_loaded = False


def active() -> Model | None:
    """The model this process classifies with: the packaged one unless another was installed."""
    global _active, _loaded
    if not _loaded:
        try:
            _active = loads(packaged_bytes())
        except FileNotFoundError:  # a checkout before the first training: rules alone
            _active = None
        _loaded = True
    return _active


def use(model: Model | None, *, data: bytes | None = None) -> None:
    """Install ``model`` (None: rules alone) as this process's active model; ``data``, its NPZ
    bytes, is what intake worker processes are given to install the same one."""
    global _active, _data, _loaded
    _active, _data, _loaded = model, data, True


def use_packaged() -> None:
    """Go back to the packaged model (loaded again when next needed)."""
    global _active, _data, _loaded
    if _data is not None or not _loaded:
        _active, _data, _loaded = None, None, False


def installed_data() -> bytes | None:
    """The active model's bytes when it is not the packaged one (None: the packaged one)."""
    active()
    return _data


def install_data(data: bytes | None) -> None:
    """In an intake worker: install the model whose bytes the parent gave (None: packaged)."""
    if data is None:
        use_packaged()
    else:
        use(loads(data), data=data)


def active_version() -> str | None:
    model = active()
    return model.version if model else None


# Intake's worker processes read the model this process holds in place: its arrays (and its
# lookup table) are written once into an anonymous memory file (``memfd_create``) that this
# process and every worker map read-only, so the machine holds one copy however many processes
# classify (bench/imap.py: peak RSS of ``fetch`` and its worker 278 -> 250 MiB, PSS 290 -> 282).
# A worker opens the file through /proc/<this pid>/fd/<n>; where that cannot be done, it loads a
# copy of its own, as before.
_ARRAYS = ("vocabulary", "idf", "weights", "bias", "platt", "starts")
_ALIGN = 64


@dataclass(frozen=True)
class Shared:
    """Where a worker finds the active model's memory file, and how its arrays lie in it."""

    pid: int
    fd: int
    size: int
    header: str  # JSON: the model's header, and each array's dtype, shape and offset


_shared: tuple[Model, Shared] | None = None  # the active model as mapped, with its memory file


def shared() -> Shared | None:
    """The active model in a memory file intake workers can map (``install_shared``), made the
    first time it is asked for; this process then classifies with the mapped arrays too. None
    when there is no model, or no such file can be made here."""
    global _active, _shared
    model = active()
    if model is None:
        return None
    if _shared is not None and _shared[0] is model:
        return _shared[1]
    memfd_create = getattr(os, "memfd_create", None)
    if memfd_create is None:
        return None
    index = model.index
    arrays = {
        name: np.ascontiguousarray(array)
        for name, array in (
            ("vocabulary", model.vocabulary),
            ("idf", model.idf),
            ("weights", model.weights),
            ("bias", model.bias),
            ("platt", model.platt),
            ("starts", index._starts),
        )
    }
    layout: dict[str, Any] = {}
    size = 0
    for name in _ARRAYS:
        size = -(-size // _ALIGN) * _ALIGN
        array = arrays[name]
        layout[name] = {"dtype": array.dtype.str, "shape": list(array.shape), "offset": size}
        size += array.nbytes
    header = json.dumps(
        {
            "version": model.version,
            "intents": list(model.intents),
            "thresholds": model.thresholds,
            "meta": model.meta,
            "widest": index._widest,
            "arrays": layout,
        },
        ensure_ascii=False,
    )
    try:
        fd = memfd_create("privacy-desk-model", os.MFD_CLOEXEC)
    except OSError:
        return None
    try:
        os.ftruncate(fd, max(size, 1))
        for name in _ARRAYS:
            data = arrays[name].data.cast("B")
            written, offset = 0, layout[name]["offset"]
            while written < len(data):
                written += os.pwrite(fd, data[written:], offset + written)
        mapped = _mapped(fd, size, header)
    except (OSError, ValueError):
        os.close(fd)
        return None
    if _shared is not None:
        os.close(_shared[1].fd)  # its mapping stays while the model that used it lives
    _active = mapped
    _shared = (mapped, Shared(os.getpid(), fd, size, header))
    return _shared[1]


def _mapped(fd: int, size: int, header: str) -> Model:
    """The model whose arrays lie in memory file ``fd`` as ``header`` says, mapped read-only."""
    found = json.loads(header)
    memory = mmap.mmap(fd, max(size, 1), prot=mmap.PROT_READ)
    arrays: dict[str, Any] = {}
    for name in _ARRAYS:
        where = found["arrays"][name]
        dtype, shape = np.dtype(where["dtype"]), tuple(where["shape"])
        count = int(np.prod(shape, dtype=np.int64))
        arrays[name] = np.frombuffer(memory, dtype, count, where["offset"]).reshape(shape)
    model = Model(
        version=str(found["version"]),
        intents=tuple(found["intents"]),
        vocabulary=arrays["vocabulary"],
        idf=arrays["idf"],
        weights=arrays["weights"],
        bias=arrays["bias"],
        platt=arrays["platt"],
        thresholds={str(k): float(v) for k, v in found["thresholds"].items()},
        meta=dict(found["meta"]),
    )
    # The lookup table as the desk process built it (``Model.index`` is a cached property).
    model.__dict__["index"] = VocabularyIndex(
        model.vocabulary, (arrays["starts"], int(found["widest"]))
    )
    return model


def install_shared(given: Shared) -> None:
    """In an intake worker: classify with the model the desk process shares (``shared``);
    ``OSError`` when its memory file cannot be opened from here."""
    fd = os.open(f"/proc/{given.pid}/fd/{given.fd}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        model = _mapped(fd, given.size, given.header)
    finally:
        os.close(fd)  # the mapping keeps the memory
    use(model)
