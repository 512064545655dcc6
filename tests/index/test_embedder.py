"""The embedder groups texts by word-piece count into batches; every vector must still
be the one its own text gets, in the order the texts were given."""

from __future__ import annotations

import numpy as np

from hearth.index.embedder import BATCH_SIZE, Embedder


def test_grouped_batches_give_each_text_its_own_vector(shared_embedder: object) -> None:
    assert isinstance(shared_embedder, Embedder)
    # More texts than one batch, with lengths that sort differently by characters and by
    # word pieces (long numbers split into many pieces), in no particular order.
    texts = [
        f"Note {n}: " + ("the lease renews in March " * (n % 7 + 1)) + "4815162342" * (n % 3)
        for n in range(BATCH_SIZE * 2 + 5)
    ]
    texts.reverse()
    together = shared_embedder.embed(texts)
    assert together.shape == (len(texts), 384)
    alone = np.stack([shared_embedder.embed_one(text) for text in texts[:: BATCH_SIZE // 4]])
    np.testing.assert_allclose(together[:: BATCH_SIZE // 4], alone, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
