"""Recipe loader: shipped recipes load; unknown keys and bad values name the file and the key; --set."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reid_models.recipe import Recipe, RecipeError, apply_overrides, load_recipe

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "reid"


@pytest.mark.parametrize("name", sorted(p.stem for p in CONFIGS.glob("*.yaml")))
def test_shipped_recipes_load(name: str) -> None:
    recipe = load_recipe(CONFIGS / f"{name}.yaml")
    assert recipe.arch == name.split("_")[0]
    from reid_models import build_model

    model = build_model(
        recipe.arch,
        num_classes=3,
        backbone="resnet18",
        pretrained=None,
        input_size=recipe.input_size,
        **recipe.model_kwargs,
    )  # the kwargs fit the network
    assert model.config["kwargs"]["input_size"] == recipe.input_size


def test_paper_recipes_follow_the_papers() -> None:
    laga = load_recipe(CONFIGS / "laga_market1501.yaml")
    assert laga.model_kwargs["metric_features"] == "reduced" and laga.flip_eval is False
    can = load_recipe(CONFIGS / "can_market1501.yaml")
    assert can.model_kwargs["classifier"] == "cosine" and can.flip_eval is False


def test_cpu_recipes_exist_for_every_network() -> None:
    for arch in ("laga", "can", "global"):
        recipe = load_recipe(CONFIGS / f"{arch}_market1501_cpu.yaml")
        assert (recipe.arch, recipe.dataset, recipe.device, recipe.pretrained) == (arch, "market1501", "cpu", None)


def test_paper_hyperparameters() -> None:
    laga = load_recipe(CONFIGS / "laga_market1501.yaml")
    assert (laga.p, laga.k, laga.epochs, laga.input_size, laga.backbone_lr_mult) == (5, 4, 70, [384, 128], 0.1)
    assert (laga.lr, laga.warmup_start_lr, laga.warmup_epochs, laga.weight_decay) == (8e-4, 8e-6, 10, 5e-4)
    can = load_recipe(CONFIGS / "can_market1501.yaml")
    assert (can.p, can.k, can.epochs, can.lr, can.milestones) == (8, 4, 600, 3e-4, [250, 350, 450])


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("arch: laga\nbatch: 3\n", "batch"),
        ("arch: lagaa\n", "arch"),
        ("p: 0\n", "p"),
        ("p: four\n", "p"),
        ("lr: -1\n", "lr"),
        ("milestones: [40, 20]\ngammas: [0.5, 0.25]\n", "milestones"),
        ("milestones: [40]\n", "gammas"),  # one factor short: the list to fix is named
        ("milestones: [0]\ngammas: [0.1]\n", "milestones"),  # a step at epoch 0 is the lr itself
        ("milestones: [3]\ngammas: [0]\n", "gammas"),  # an lr of 0 from epoch 3 on trains nothing
        ("input_size: [384]\n", "input_size"),
        ("flip: 1\n", "flip"),
        ("lr: .inf\n", "lr"),  # inf and NaN passed the range checks and trained to NaN weights
        ("weight_decay: .nan\n", "weight_decay"),
        ("warmup_start_lr: .inf\n", "warmup_start_lr"),
        ("milestones: [3]\ngammas: [.nan]\n", "gammas"),
        ("seed: -1\n", "seed"),  # numpy's error came after the dataset was loaded, naming no key
        ("seed: 10000000000000000\n", "seed"),
        ("arch: global\nmodel_kwargs: {bogus: 1}\n", "model_kwargs"),  # a traceback at build_model before
        ("arch: laga\nmodel_kwargs: {input_size: [64, 32]}\n", "model_kwargs"),  # a recipe key of its own
        # helper-67: a truthy string trained a shared layer4 (15M parameters for 40M), silently
        ("arch: laga\nmodel_kwargs: {share_layer4: flase}\n", "model_kwargs.share_layer4"),
        ("arch: laga\nmodel_kwargs: {relative_positions: 2}\n", "model_kwargs.relative_positions"),
        # ... and the network's own value checks came after the dataset was read, naming no file
        ("arch: laga\nmodel_kwargs: {metric_features: xyz}\n", "model_kwargs.metric_features"),
        ("arch: laga\nmodel_kwargs: {branches: [global, bogus]}\n", "model_kwargs.branches"),
        ("arch: can\nmodel_kwargs: {parts: [3, x]}\n", "model_kwargs.parts"),
        ("arch: can\nmodel_kwargs: {cosine_scale: big}\n", "model_kwargs.cosine_scale"),
    ],
)
def test_errors_name_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(text)
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    assert str(info.value).startswith(f"{path}: {key}:")


def test_overrides(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("arch: can\nepochs: 10\nlr: 3e-4\n")
    recipe = load_recipe(path, ["epochs=3", "milestones=[2]", "gammas=[0.1]", "pretrained=null"])
    assert (recipe.arch, recipe.epochs, recipe.milestones, recipe.pretrained) == ("can", 3, [2], None)
    assert recipe.lr == 3e-4  # YAML 1.1 reads 3e-4 as a string; float fields accept it
    with pytest.raises(RecipeError, match="epochs"):
        apply_overrides(Recipe(), ["epochs=-2"])
    with pytest.raises(RecipeError, match="expected key=value"):
        apply_overrides(Recipe(), ["epochs"])
    with pytest.raises(RecipeError, match="nope"):
        load_recipe(path, ["nope=1"])


def test_set_changes_one_model_kwarg_or_says_what_replacing_the_mapping_drops() -> None:
    """helper-54: --set "model_kwargs={share_layer4: false}" replaced the whole mapping, so the paper recipe lost
    metric_features: reduced without a word; the documented dotted form was refused. Replacing stays what it was
    (runs started with it resume with the same command), with a warning naming what it drops."""
    import warnings

    paper = CONFIGS / "laga_market1501.yaml"
    assert load_recipe(paper).model_kwargs == {"share_layer4": True, "metric_features": "reduced"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # setting one key drops nothing: no warning
        one = load_recipe(paper, ["model_kwargs.share_layer4=false"]).model_kwargs
    assert one == {"share_layer4": False, "metric_features": "reduced"}
    with pytest.warns(UserWarning, match="replaces the recipe's model_kwargs, dropping metric_features: 'reduced'"):
        assert load_recipe(paper, ["model_kwargs={share_layer4: false}"]).model_kwargs == {"share_layer4": False}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a mapping that keeps every key of the recipe's: nothing to say
        load_recipe(paper, ["model_kwargs={share_layer4: false, metric_features: pooled}"])
    with pytest.raises(RecipeError, match=r"epochs\.x: epochs is not a mapping: set it whole \(epochs=\.\.\.\)"):
        load_recipe(paper, ["epochs.x=1"])
    # helper-70: YAML 1.1 reads 1e1 as a string; a float argument takes it, as the recipe's own float keys do
    assert load_recipe(CONFIGS / "can_market1501.yaml", ["model_kwargs.cosine_scale=1e1"]).model_kwargs[
        "cosine_scale"
    ] == pytest.approx(10.0)
    with pytest.raises(RecipeError, match=r": foo: unknown key; valid: "):  # helper-67: "foo is not a mapping"
        load_recipe(paper, ["foo.bar=1"])
    with pytest.raises(RecipeError, match=r"model_kwargs\.a\.b: expected model_kwargs\.NAME=value"):
        load_recipe(paper, ["model_kwargs.a.b=1"])
    with pytest.raises(RecipeError, match="'nope' is not an option of laga"):
        load_recipe(paper, ["model_kwargs.nope=1"])


def test_billion_laughs_recipe_is_refused_in_one_short_line(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(8):
        prev = chr(97 + i)
        lines.append(f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{prev}"] * 9) + "]")
    path = tmp_path / "r.yaml"
    path.write_text("model_kwargs:\n" + "\n".join("  " + line for line in lines) + "\narch: *i\n")
    with pytest.raises(RecipeError, match="expands to more than") as info:
        load_recipe(path)
    assert len(str(info.value)) < 300
    small = tmp_path / "s.yaml"
    nine = ",".join(["*a"] * 9)
    small.write_text(f"model_kwargs: {{l0: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol], l1: &b [{nine}]}}\narch: *b\n")
    with pytest.raises(RecipeError, match="arch: expected str") as info:
        load_recipe(small)
    assert len(str(info.value)) < 300


def test_a_key_given_twice_in_a_recipe_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("arch: laga\nepochs: 2\narch: can\n")
    with pytest.raises(RecipeError, match=r"line 3: duplicate key 'arch' \(first on line 1\)"):
        load_recipe(path)


def test_a_set_value_that_is_not_yaml_is_one_line(tmp_path: Path) -> None:
    for value, problem in (("[1", "expected ',' or ']'"), ("{a: 1, a: 2}", "duplicate key 'a'")):
        with pytest.raises(RecipeError, match=rf"--set: milestones: value is not valid YAML \({re.escape(problem)}"):
            apply_overrides(Recipe(), [f"milestones={value}"])


def test_a_number_with_a_leading_zero_is_refused_not_read_as_octal(tmp_path: Path) -> None:
    """helper-61: `epochs: 012` trained 10 epochs and `seed: 010` seeded 8 (YAML 1.1 octal), without a word."""
    path = tmp_path / "r.yaml"
    path.write_text("arch: laga\nepochs: 012\n")
    with pytest.raises(
        RecipeError, match=r"line 2: write 12 \(or '012' in quotes for a name\): YAML reads 012 as the octal number 10"
    ):
        load_recipe(path)
    with pytest.raises(
        RecipeError, match=r"--set: seed: value is not valid YAML \(write 10 .*: YAML reads 010 as the octal number 8\)"
    ):
        apply_overrides(Recipe(), ["seed=010"])
    assert apply_overrides(Recipe(), ["seed=0", "epochs=12", "lr=0.00035"]).seed == 0  # zero and decimals as ever
    assert apply_overrides(Recipe(), ["seed=07"]).seed == 7  # the same number either way (helper-62)


def test_one_identity_per_batch_is_refused() -> None:
    # it trained with a triplet loss of 0 throughout (no negative in a batch) and exited 0
    with pytest.raises(RecipeError, match="p: must be >= 2"):
        Recipe(p=1)
    assert Recipe(p=2).p == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty: a recipe holds key: value lines"),
        (b"# nothing but a comment\n", "empty: a recipe holds key: value lines"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "not a text file"),
        (None, "a folder, not a recipe file"),
    ],
    ids=["empty", "comment", "binary", "folder"],
)
def test_a_recipe_that_is_no_recipe_is_one_line_naming_it(tmp_path: Path, content, message: str) -> None:
    # an empty file trained every default without a word; a binary one was a decode error without the file name;
    # a folder was "recipe not found"
    path = tmp_path / "r.yaml"
    path.mkdir() if content is None else path.write_bytes(content)
    with pytest.raises(RecipeError, match=message) as info:
        load_recipe(path)
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


def test_milestones_beyond_the_last_epoch_are_said(tmp_path: Path) -> None:
    """A recipe shortened with --set epochs=N keeps lr steps it never reaches: allowed, but said (it trained at
    the full lr throughout without a word)."""
    path = tmp_path / "r.yaml"
    path.write_text("epochs: 30\nmilestones: [20, 40, 60]\ngammas: [0.1, 0.01, 0.001]\n")
    said = load_recipe(path).unreached_milestones()
    assert said is not None and said.startswith("milestones 40, 60 lie at or beyond epochs=30: those lr steps")
    assert load_recipe(path, ["epochs=61"]).unreached_milestones() is None
    assert load_recipe(path, ["epochs=41"]).unreached_milestones().startswith("milestone 60 lies at or beyond")
