"""The tensors a pipeline step callback asked for, made lazily."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

import torch


class StepTensors(Mapping[str, torch.Tensor]):
    """The step callback's requested tensors; those that cost a computation (x0) are made only when
    the callback reads them: a callback that previews every N steps pays for x0 on those steps alone."""

    def __init__(
        self, names: Sequence[str], ready: Mapping[str, torch.Tensor], makers: Mapping[str, Callable[[], torch.Tensor]]
    ) -> None:
        self._names = tuple(dict.fromkeys(names))
        self._made = {name: ready[name] for name in self._names if name in ready}
        self._makers = {name: makers[name] for name in self._names if name not in ready}

    def __getitem__(self, name: str) -> torch.Tensor:
        if name not in self._made:
            self._made[name] = self._makers[name]()
        return self._made[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)
