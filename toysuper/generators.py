"""Random-bit generators of a model's data stream: threefry, or a cheaper counter-based hash.

A model's data key (`toysuper.training.init_state`) draws its fresh batches. With threefry
(JAX's default) every 32 random bits cost about 60 integer operations, which on a CPU made
drawing the batch the larger part of a training step. "counter" keeps threefry's key format (two
uint32 words, the same seeds) and derives everything from one keyed hash: entry c of a draw
(its flat index, a counter) is

    x = (c ^ k0) + w;  x = mix_1(x) ^ k1;  x = mix_2(x);  x = mix_3(x)

with (k0, k1) the key's two words, w = 0x9E3779B9 (so no key maps 0 to 0) and
mix_r(x) = (x ^ (x >> s_r)) * a_r, the rounds of C. Wellons' "triple32" integer hash (bias
0.021, near that of an ideal hash), and a final x ^ (x >> 14). `fold_in(key, t)` is the hash of
counters 2t and 2t + 1 and `split` the hash of 0, 1, ..., each under the key's words xor a
constant of its own, so a derived key never repeats words that the key itself draws (step t's
key is still fold_in(data_key, t)). Each entry depends only on its key and its own index, so a
model's draws do not depend on its sweep (vmap over keys is exact), unlike JAX's "rbg"
generators. About 12 operations a word; tests/test_generators.py checks uniformity and
independence across features, samples, steps and models.
"""

from __future__ import annotations

import math

import jax
import jax.extend.random as jex_random
import jax.numpy as jnp
import numpy as np

from toysuper.validate import require

GENERATORS = ("counter", "threefry")  # TrainConfig.rng; "counter" is the default
_THREEFRY = jex_random.threefry_prng_impl
_ROUNDS = ((17, 0xED5AD4BB), (11, 0xAC4C1B51), (15, 0x31848BAB))  # triple32's shifts, factors
_FINAL_SHIFT = 14
_WEYL = 0x9E3779B9  # 2**32 / golden ratio
_FOLD_IN_WORDS = (0x85EBCA6B, 0xC2B2AE35)  # xored into the key's words for fold_in and split,
_SPLIT_WORDS = (0x27D4EB2F, 0x165667B1)  # so the three uses of a key draw different words


def counter_hash(counter: jax.Array, key_words: jax.Array) -> jax.Array:
    """32 random bits per entry of `counter` (uint32) under the key's two uint32 words."""
    x = (counter ^ key_words[0]) + np.uint32(_WEYL)
    for r, (shift, factor) in enumerate(_ROUNDS):
        x = (x ^ (x >> np.uint32(shift))) * np.uint32(factor)
        if r == 0:
            x = x ^ key_words[1]
    return x ^ (x >> np.uint32(_FINAL_SHIFT))


def _counter_bits(key_words: jax.Array, bit_width: int, shape: tuple[int, ...]) -> jax.Array:
    """`random_bits` of the counter generator: (shape) unsigned ints of `bit_width` bits."""
    words_per_entry = 2 if bit_width == 64 else 1
    size = math.prod(shape) * words_per_entry
    require(size < 2**32, "shape", shape, "fewer than 2**32 random words per draw")
    bits = counter_hash(jax.lax.iota(jnp.uint32, size), key_words)
    if bit_width == 64:
        pairs = bits.reshape(-1, 2).astype(jnp.uint64)
        return ((pairs[:, 0] << np.uint64(32)) | pairs[:, 1]).reshape(shape)
    dtype = {8: jnp.uint8, 16: jnp.uint16, 32: jnp.uint32}[bit_width]
    return (bits >> np.uint32(32 - bit_width)).astype(dtype).reshape(shape)


def _tweaked(key_words: jax.Array, tweak: tuple[int, int]) -> jax.Array:
    return key_words ^ np.array(tweak, np.uint32)


def _counter_split(key_words: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """`split`: the keys are the first 2 * prod(shape) words of the hash under the split tweak."""
    return _counter_bits(_tweaked(key_words, _SPLIT_WORDS), 32, (*shape, 2))


def _counter_fold_in(key_words: jax.Array, data: jax.Array) -> jax.Array:
    """`fold_in`: key t is the hash of counters 2t and 2t + 1 (t < 2**31) under the fold_in
    tweak."""
    counter = 2 * jnp.asarray(data, jnp.uint32) + jnp.arange(2, dtype=jnp.uint32)
    return counter_hash(counter, _tweaked(key_words, _FOLD_IN_WORDS))


COUNTER = jex_random.define_prng_impl(
    key_shape=_THREEFRY.key_shape, seed=_THREEFRY.seed, split=_counter_split,
    fold_in=_counter_fold_in, random_bits=_counter_bits, name="toysuper_counter", tag="ctr")


def with_generator(key: jax.Array, generator: str) -> jax.Array:
    """`key` (a threefry key) with the same words, drawing its bits from `generator`."""
    require(generator in GENERATORS, "rng", generator, f"one of {', '.join(GENERATORS)}")
    if generator == "threefry":
        return key
    return jax.random.wrap_key_data(jax.random.key_data(key), impl=COUNTER)
