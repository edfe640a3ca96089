"""Text classifier: training, top-k, calibration bounds, hierarchy, model files, tables, CLI.

Small literal datasets keep these fast; the one ``data`` test trains on the real Teddy Cup
titles (skipped when ``../shared/data`` is absent).
"""

from __future__ import annotations

import csv
import json
import os
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from minxin.intake import model_io
from minxin.intake.classifier import TextClassifier, fold_splits, group_ids, load_model, train
from minxin.intake.evaluation import cross_validate, evaluate, expected_calibration_error
from minxin.intake.features import FoldFeatures, build_features
from minxin.intake.table import TableError, load_table

TRAFFIC = [
    "公交车到站不停车",
    "路口红绿灯坏了很久",
    "公交线路调整后出行不便",
    "高速收费站排队太长",
    "出租车拒载乘客",
    "道路坑洼影响行车安全",
    "建议增开夜班公交",
    "客运班车超载严重",
]
SCHOOL = [
    "学校乱收补课费",
    "小学学位不足孩子入学难",
    "老师体罚学生",
    "幼儿园收费过高",
    "中学食堂饭菜质量差",
    "教师职称评定不公",
    "学生课业负担太重",
    "校车安全隐患",
]
ENVIRONMENT = [
    "工厂夜间排放废气",
    "河道污水直排",
    "工地噪音扰民到深夜",
    "垃圾焚烧厂气味刺鼻",
    "养猪场污染水源",
    "餐馆油烟污染严重",
    "化工厂偷排废水",
    "采石场粉尘污染",
]
FLAT = (
    [(t, "交通运输") for t in TRAFFIC]
    + [(t, "教育文体") for t in SCHOOL]
    + [(t, "环境保护") for t in ENVIRONMENT]
)

HOUSING = ["公租房分配不公", "公租房申请材料太多", "公租房维修无人管", "申请公租房排队多年"]
STREETLIGHT = ["路灯不亮晚上很黑", "小区外路灯坏了", "路灯白天也亮浪费电", "新修道路没有路灯"]
ENROL = ["小学学位紧张入学难", "学区划分不合理", "孩子入学积分不够", "外来务工子女入学难"]
FEES = ["学校乱收资料费", "补课收费过高", "幼儿园乱收费", "学校强制订购校服收费"]
TREE = (
    [(t, "城乡建设/住房保障/公租房") for t in HOUSING]
    + [(t, "城乡建设/市政管理/路灯") for t in STREETLIGHT]
    + [(t, "教育文体/教育/入学") for t in ENROL]
    + [(t, "教育文体/教育/收费") for t in FEES]
)
WHEN = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def _fit(rows: list[tuple[str, str]], **params: object) -> TextClassifier:
    texts, labels = zip(*rows, strict=True)
    return train(list(texts), list(labels), created_at=WHEN, **params)


@pytest.fixture(scope="module")
def flat_model() -> TextClassifier:
    return _fit(FLAT)


def test_top3_is_sorted_and_confidences_are_probabilities(flat_model: TextClassifier) -> None:
    top = flat_model.predict_top_k("公交站台太远，希望增开公交线路", k=3)
    assert top[0][0] == "交通运输"
    confidences = [c for _, c in top]
    assert confidences == sorted(confidences, reverse=True)
    assert all(0.0 <= c <= 1.0 for c in confidences)
    assert sum(confidences) <= 1.0 + 1e-6
    assert len({label for label, _ in top}) == 3


def test_obvious_texts_land_in_their_class(flat_model: TextClassifier) -> None:
    assert flat_model.predict_top_k("学校老师乱收补课费", k=1)[0][0] == "教育文体"
    assert flat_model.predict_top_k("工厂排放废水污染河道", k=1)[0][0] == "环境保护"


def test_single_text_fast_path_matches_batch_maths(flat_model: TextClassifier) -> None:
    texts = ["公交车不停站", "ｗｉｆｉ 学校", "", "完全无关的内容xyz"]
    one_by_one = np.vstack([flat_model.decision_scores([t]) for t in texts])
    np.testing.assert_allclose(one_by_one, flat_model.decision_scores(texts), atol=1e-5)
    proba = flat_model.predict_proba(texts)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    batch, single = flat_model.predict_batch(texts, k=2)[0], flat_model.predict_top_k(texts[0], k=2)
    assert [label for label, _ in batch] == [label for label, _ in single]
    assert [c for _, c in batch] == pytest.approx([c for _, c in single], abs=1e-5)


def test_fold_features_equal_a_refit_on_the_fold() -> None:
    texts = [t for t, _ in FLAT]
    folds = FoldFeatures(build_features(), texts)
    rows = np.arange(0, len(texts), 2)
    refit = build_features().fit([texts[i] for i in rows])
    expected, got = refit.transform(texts).tocsr(), folds.matrix(rows)
    for i in range(len(texts)):  # same values per row; only the column order differs
        np.testing.assert_allclose(
            np.sort(got[i].data[got[i].data != 0]), np.sort(expected[i].data), rtol=1e-5
        )


def test_k_larger_than_classes_is_clamped(flat_model: TextClassifier) -> None:
    assert len(flat_model.predict_top_k("噪音", k=10)) == 3
    assert flat_model.predict_batch([]) == []


def test_training_metadata(flat_model: TextClassifier) -> None:
    meta = flat_model.metadata
    assert meta["created_at"] == WHEN.isoformat()
    assert meta["n_rows"] == len(FLAT)
    assert meta["labels"] == {"交通运输": 8, "教育文体": 8, "环境保护": 8}
    assert len(meta["data_sha256"]) == 64
    assert meta["params"]["C"] == 0.5
    assert flat_model.temperature > 0


def test_bad_training_input_is_refused() -> None:
    with pytest.raises(ValueError, match="two distinct labels"):
        train(["a", "b"], ["x", "x"])
    with pytest.raises(ValueError, match="texts but"):
        train(["a", "b"], ["x"])
    with pytest.raises(TypeError, match="unknown training parameter"):
        train(["a", "b"], ["x", "y"], gamma=3)


def test_two_classes_work() -> None:
    model = _fit(FLAT[:16])
    top = model.predict_top_k("红绿灯坏了", k=3)
    assert len(top) == 2 and top[0][0] == "交通运输"
    assert abs(sum(c for _, c in top) - 1.0) < 1e-6


def test_save_load_round_trip(flat_model: TextClassifier, tmp_path: Path) -> None:
    path = flat_model.save(tmp_path / "m.model.zip")
    loaded = load_model(path)
    texts = ["路灯坏了", "孩子入学难", "工地噪音"]
    np.testing.assert_allclose(loaded.predict_proba(texts), flat_model.predict_proba(texts), atol=1e-7)
    manifest = model_io.read_manifest(path)
    assert manifest["format_version"] == model_io.FORMAT_VERSION
    assert manifest["sklearn_version"]
    assert manifest["metadata"]["data_sha256"] == flat_model.metadata["data_sha256"]
    assert path.stat().st_size < 1_000_000


def _rewrite_manifest(path: Path, **changes: object) -> None:
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        payload = archive.read("model.joblib")
    manifest.update(changes)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        archive.writestr("model.joblib", payload)


def test_incompatible_files_are_refused(flat_model: TextClassifier, tmp_path: Path) -> None:
    path = flat_model.save(tmp_path / "m.zip")
    _rewrite_manifest(path, format_version=99)
    with pytest.raises(model_io.ModelFileError, match="format version 99"):
        load_model(path)
    _rewrite_manifest(path, format_version=model_io.FORMAT_VERSION, sklearn_version="0.24.2")
    with pytest.raises(model_io.ModelFileError, match=r"scikit-learn 0\.24\.2"):
        load_model(path)
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    with pytest.raises(model_io.ModelFileError, match="not a minxin model"):
        load_model(junk)
    with pytest.raises(model_io.ModelFileError, match="not found"):
        load_model(tmp_path / "missing.zip")


def test_hierarchical_labels_report_every_level() -> None:
    model = _fit(TREE)
    assert model.depth == 3
    leaf = model.predict_top_k("公租房申请排队", k=4)
    assert leaf[0][0] == "城乡建设/住房保障/公租房"
    level1 = dict(model.predict_top_k("公租房申请排队", k=2, level=1))
    assert set(level1) == {"城乡建设", "教育文体"}
    leaves = dict(leaf)
    expected = sum(p for label, p in leaves.items() if label.startswith("城乡建设/"))
    assert level1["城乡建设"] == pytest.approx(expected, abs=1e-6)
    levels = model.predict_levels("学校乱收费")
    assert [top[0][0] for top in levels] == ["教育文体", "教育文体/教育", "教育文体/教育/收费"]
    assert levels[0][0][1] >= levels[1][0][1] >= levels[2][0][1]

    texts, labels = zip(*TREE, strict=True)
    report = evaluate(model, list(texts), list(labels))
    assert set(report["levels"]) == {"1", "2", "3"}
    assert report["levels"]["1"]["accuracy"] >= report["levels"]["3"]["accuracy"]
    assert set(report["levels"]["1"]["per_class"]) == {"城乡建设", "教育文体"}


def test_evaluate_report_keys(flat_model: TextClassifier) -> None:
    texts, labels = zip(*FLAT, strict=True)
    report = evaluate(flat_model, [*texts, "公交车"], [*labels, "未知类别"])
    for key in ("macro_f1", "accuracy", "top3_accuracy", "n", "per_class", "ece"):
        assert key in report
    assert report["n"] == len(FLAT) + 1
    assert report["unknown_labels"] == ["未知类别"]
    assert report["per_class"]["交通运输"]["support"] == 8
    assert set(report["per_class"]["交通运输"]) == {"precision", "recall", "f1", "support"}
    assert "levels" not in report


def test_expected_calibration_error_bounds() -> None:
    assert expected_calibration_error(np.array([1.0, 1.0]), np.array([1.0, 1.0])) == 0.0
    assert expected_calibration_error(np.array([0.9, 0.9]), np.array([0.0, 0.0])) == pytest.approx(0.9)


def test_cross_validate_keeps_duplicates_in_one_fold() -> None:
    texts = [t for t, _ in FLAT] * 2
    groups = group_ids(texts)
    labels = np.array([lab for _, lab in FLAT] * 2)
    for train_idx, test_idx in fold_splits(labels, groups, 4, 0):
        assert not set(groups[train_idx]) & set(groups[test_idx])
    cv = cross_validate(texts, list(labels), n_folds=4)
    assert cv["folds"] == 4 and len(cv["per_fold"]) == 4
    assert 0.0 <= cv["macro_f1"]["mean"] <= 1.0


# -- tables -----------------------------------------------------------------------------------
def _write_csv(path: Path, rows: list[list[str]], encoding: str) -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_load_csv_in_common_encodings(tmp_path: Path, encoding: str) -> None:
    rows = [
        ["编号", "留言主题", "一级标签"],
        ["1", "路灯不亮", "城乡建设"],
        ["2", "", "城乡建设"],
        ["3", "学校收费", ""],
    ]
    table = load_table(_write_csv(tmp_path / "t.csv", rows, encoding), "留言主题", "一级标签")
    texts, labels = table
    assert texts == ["路灯不亮"] and labels == ["城乡建设"]
    assert table.dropped == 2 and len(table.sha256) == 64


def test_missing_column_error_names_available_columns(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "t.csv", [["title", "label"], ["a", "b"]], "utf-8")
    with pytest.raises(TableError, match=r"留言主题 not found; available columns: title, label"):
        load_table(path, "留言主题", "label")
    with pytest.raises(TableError, match="file not found"):
        load_table(tmp_path / "nope.csv", "title", "label")


def test_several_columns_join_text_and_label_path(tmp_path: Path) -> None:
    rows = [
        ["主题", "详情", "一级", "二级", "三级"],
        ["路灯", "晚上不亮", "城乡建设", "市政管理", "路灯"],
        ["入学", "", "教育文体", "教育", ""],
        ["坏行", "x", "城乡建设", "", "路灯"],
        ["斜杠", "y", "城乡建设", "A/B", "C"],
    ]
    table = load_table(_write_csv(tmp_path / "t.csv", rows, "utf-8"), "主题,详情", "一级,二级,三级")
    assert table.texts == ["路灯\n晚上不亮", "入学", "斜杠\ny"]
    assert table.labels == ["城乡建设/市政管理/路灯", "教育文体/教育", "城乡建设/A／B/C"]
    assert table.dropped == 1


def test_load_xlsx(tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["留言主题", "一级标签"])
    sheet.append(["公交车不停站", "交通运输"])
    sheet.append([None, "交通运输"])
    sheet.append(["学校乱收费", "教育文体"])
    path = tmp_path / "orders.xlsx"
    workbook.save(path)
    table = load_table(path, "留言主题", "一级标签")
    assert table.texts == ["公交车不停站", "学校乱收费"] and table.dropped == 1
    with pytest.raises(TableError, match="available columns: 留言主题, 一级标签"):
        load_table(path, "留言主题", "label")


# -- CLI --------------------------------------------------------------------------------------
def test_cli_train_then_eval(tmp_path: Path) -> None:
    from minxin.intake.cli import app

    data = _write_csv(tmp_path / "orders.csv", [["主题", "类别"], *[[t, lab] for t, lab in FLAT]], "utf-8")
    out = tmp_path / "m.zip"
    runner = CliRunner()
    trained = runner.invoke(
        app,
        [
            "train",
            str(data),
            "--text-col",
            "主题",
            "--label-col",
            "类别",
            "--out",
            str(out),
            "--cv",
            "--folds",
            "3",
        ],
    )
    assert trained.exit_code == 0, trained.output
    summary = json.loads(trained.stdout)
    assert summary["cv"]["folds"] == 3 and out.exists()
    evaluated = runner.invoke(
        app, ["eval", str(data), "--model", str(out), "--text-col", "主题", "--label-col", "类别"]
    )
    assert evaluated.exit_code == 0, evaluated.output
    report = json.loads(evaluated.stdout)
    assert report["n"] == len(FLAT) and report["macro_f1"] > 0.9
    bad = runner.invoke(
        app, ["eval", str(data), "--model", str(out), "--text-col", "title", "--label-col", "类别"]
    )
    assert bad.exit_code == 2 and "available columns" in bad.stderr


# -- real data --------------------------------------------------------------------------------
def _shared_data() -> Path:
    default = Path(__file__).resolve().parents[2].parent / "shared" / "data"
    return Path(os.environ.get("MINXIN_SHARED_DATA", default))


@pytest.mark.data
def test_real_titles_macro_f1() -> None:
    path = _shared_data() / "teddycup2020c_titles" / "train.csv"
    if not path.exists():
        pytest.skip(f"{path} not available")
    texts, labels = load_table(path, "留言主题", "一级标签")
    y = np.unique(np.array(labels, dtype=object), return_inverse=True)[1]
    train_idx, test_idx = fold_splits(y, group_ids(texts), 5, 0)[0]
    model = train([texts[i] for i in train_idx], [labels[i] for i in train_idx])
    report = evaluate(model, [texts[i] for i in test_idx], [labels[i] for i in test_idx])
    assert report["macro_f1"] >= 0.85, report["macro_f1"]
    assert report["top3_accuracy"] >= 0.95
    assert report["ece"] <= 0.08
