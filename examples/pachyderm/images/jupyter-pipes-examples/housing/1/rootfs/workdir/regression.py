"""Fit a regression of --target-col on the other columns of every CSV file under --input.

Writes, per CSV file, <stem>.model.pkl (the fitted model), <stem>.scores.json (cross-validated
R² and mean absolute error) and <stem>.fit.png (predicted against actual) to --output.
"""

import argparse
import json
import os
import pickle

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import cross_val_predict, cross_val_score

parser = argparse.ArgumentParser(description="Structured data regression")
parser.add_argument("--input", help="a CSV file, or a folder of them")
parser.add_argument("--target-col", help="the column to predict")
parser.add_argument("--output", default="./output", help="output folder")


def fit(csv_path: str, target: str, out: str) -> None:
    data = pd.read_csv(csv_path)
    features, targets = data.drop(columns=[target]), data[target]
    model = LinearRegression()
    folds = min(5, len(data))
    r2 = cross_val_score(model, features, targets, cv=folds).mean()
    predicted = cross_val_predict(model, features, targets, cv=folds)
    mae = float(abs(predicted - targets).mean())
    model.fit(features, targets)
    stem = os.path.splitext(os.path.basename(csv_path))[0]
    with open(os.path.join(out, stem + ".model.pkl"), "wb") as f:
        pickle.dump(model, f)
    with open(os.path.join(out, stem + ".scores.json"), "w") as f:
        json.dump({"r2": round(float(r2), 4), "mae": round(mae, 4), "rows": len(data)}, f)
    plt.figure(figsize=(4, 4))
    plt.scatter(targets, predicted, s=8)
    plt.xlabel("actual " + target)
    plt.ylabel("predicted")
    plt.savefig(os.path.join(out, stem + ".fit.png"))
    plt.close()
    print(f"{stem}: {len(data)} rows, R² {r2:.3f}, MAE {mae:.3f}")


def main() -> None:
    args = parser.parse_args()
    if os.path.isfile(args.input):
        files = [args.input]
    else:
        files = [
            os.path.join(d, name)
            for d, _, names in os.walk(args.input)
            for name in sorted(names)
            if name.endswith(".csv")
        ]
    for path in files:
        fit(path, args.target_col, args.output)


if __name__ == "__main__":
    main()
