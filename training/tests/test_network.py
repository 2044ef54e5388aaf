"""Two networks served as one: their probabilities averaged, the first one's feature maps shown."""

from __future__ import annotations

import numpy as np
import pytest

from training.network import CONV_LAYER_NAMES, build_ensemble, build_model, ensemble_members, with_feature_maps

PICTURES = np.random.default_rng(5).integers(0, 256, size=(6, 28, 28, 1)).astype("float32")


@pytest.fixture(scope="module")
def networks():
    import keras

    keras.utils.set_random_seed(11)
    return build_model(), build_model()  # two draws of the initial weights: two different networks


def test_an_ensemble_answers_the_mean_of_its_members(networks):
    first, second = networks
    ensemble = build_ensemble(networks)
    expected = (first.predict(PICTURES, verbose=0) + second.predict(PICTURES, verbose=0)) / 2
    np.testing.assert_allclose(ensemble.predict(PICTURES, verbose=0), expected, atol=1e-6)
    assert not np.allclose(first.predict(PICTURES, verbose=0), expected, atol=1e-3)  # the members differ


def test_an_ensemble_is_saved_and_loaded_with_its_members(networks, tmp_path):
    import keras

    ensemble = build_ensemble(networks)
    ensemble.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert [member.name for member in ensemble_members(loaded)] == ["member1", "member2"]
    np.testing.assert_allclose(loaded.predict(PICTURES, verbose=0), ensemble.predict(PICTURES, verbose=0), atol=1e-6)


def test_a_single_network_is_its_own_only_member(networks):
    assert ensemble_members(networks[0]) == [networks[0]]


def test_an_ensembles_feature_maps_are_its_first_members(networks):
    first, _ = networks
    served = with_feature_maps(build_ensemble(networks))(PICTURES)
    alone = with_feature_maps(first)(PICTURES)
    assert set(served) == {"probabilities", *CONV_LAYER_NAMES}
    for name in CONV_LAYER_NAMES:
        np.testing.assert_allclose(np.asarray(served[name]), np.asarray(alone[name]), atol=1e-6)
    np.testing.assert_allclose(
        np.asarray(served["probabilities"]), build_ensemble(networks).predict(PICTURES, verbose=0), atol=1e-6
    )


def test_an_ensemble_needs_two_networks(networks):
    with pytest.raises(ValueError, match="at least two"):
        build_ensemble(networks[:1])
