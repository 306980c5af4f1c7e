using AdaRas.Probing.Metrics;

namespace AdaRas.Probing.LinearProbe;

public sealed record L1ProbeOptions
{
    /// <summary>Stratified cross-validation folds.</summary>
    public int Folds { get; init; } = 5;
    /// <summary>Seed of the fold assignment (the solver itself is deterministic).</summary>
    public int Seed { get; init; }
    /// <summary>Number of lambdas on the path, log-spaced from lambda_max down.</summary>
    public int LambdaCount { get; init; } = 50;
    /// <summary>Smallest lambda as a fraction of lambda_max; default as glmnet: 1e-4 when questions outnumber features, else 0.01.</summary>
    public double? LambdaMinRatio { get; init; }
    /// <summary>Optimality tolerance on the standardised gradient (KKT conditions).</summary>
    public double Tolerance { get; init; } = 1e-7;
}

/// <summary>One lambda of the path: sparsity of the full-data fit and the cross-validated quality.</summary>
public sealed record L1PathPoint(double Lambda, int NonZeroCount, double CrossValidatedDeviance, double CrossValidatedAuroc);

public sealed record L1ProbeTrainingResult(
    L1Probe Probe,
    IReadOnlyList<L1PathPoint> Path,
    int ChosenIndex,
    ClassifierReport CrossValidated);

/// <summary>
/// Trains the paper's preliminary probe: L1-regularised logistic regression predicting correctness from last-token
/// activations. A lambda path is fitted (warm starts, see <see cref="L1LogisticRegression"/>) on each of k
/// stratified folds and on all questions; the lambda with the lowest out-of-fold binomial deviance is chosen
/// (ties: the larger lambda); the probe is the all-questions fit at that lambda; its threshold is Youden's J on
/// the pooled out-of-fold predictions at that lambda, and the report (AUROC, accuracy, ...) is out-of-fold too.
/// </summary>
public static class L1ProbeTrainer
{
    /// <param name="model">The model the activations come from.</param>
    /// <param name="lastToken">Questions x features, row-major.</param>
    /// <param name="neuronIds">Global neuron id of each column; null when the columns are all neurons in order.</param>
    /// <param name="isGood">Correctness label per question.</param>
    public static L1ProbeTrainingResult Train(ModelShape model, ActivationMatrix lastToken, IReadOnlyList<int>? neuronIds,
        IReadOnlyList<bool> isGood, L1ProbeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(lastToken);
        ArgumentNullException.ThrowIfNull(isGood);
        options ??= new L1ProbeOptions();
        int n = lastToken.Rows, p = lastToken.Columns;
        if (isGood.Count != n) throw new ArgumentException($"{n} questions of activations but {isGood.Count} labels");
        var ids = neuronIds?.ToArray() ?? (p == model.NeuronCount
            ? Enumerable.Range(0, p).ToArray()
            : throw new ArgumentException($"{p} feature columns but no neuron ids, and the model {model} has {model.NeuronCount} neurons"));
        if (ids.Length != p) throw new ArgumentException($"{p} feature columns but {ids.Length} neuron ids");
        model.ValidateNeuronIds(ids, requireAscending: false, "L1 probe features");
        var folds = StratifiedFolds.Assign(isGood, options.Folds, options.Seed); // also rejects one-class labels
        lastToken.EnsureFinite("L1 probe activations");

        var all = new L1LogisticRegression(lastToken, isGood, Enumerable.Range(0, n).ToArray(), options.Tolerance);
        double minRatio = options.LambdaMinRatio ?? (n > p ? 1e-4 : 0.01);
        var lambdas = L1LogisticRegression.LambdaPath(all.LambdaMax, options.LambdaCount, minRatio);
        var fullFits = all.FitPath(lambdas);

        // Out-of-fold p(correct) for every lambda and question.
        var outOfFold = new double[lambdas.Length][];
        for (int k = 0; k < lambdas.Length; k++) outOfFold[k] = new double[n];
        int usable = fullFits.Count;
        for (int f = 0; f < options.Folds; f++)
        {
            var trainRows = Enumerable.Range(0, n).Where(i => folds[i] != f).ToArray();
            var heldOut = Enumerable.Range(0, n).Where(i => folds[i] == f).ToArray();
            var solver = new L1LogisticRegression(lastToken, isGood, trainRows, options.Tolerance);
            var fits = solver.FitPath(lambdas.Take(usable).ToArray());
            usable = Math.Min(usable, fits.Count);
            for (int k = 0; k < fits.Count; k++)
            {
                var (w, b) = OriginalScale(fits[k], solver);
                foreach (int i in heldOut)
                {
                    var row = lastToken.Row(i);
                    double eta = b;
                    for (int c = 0; c < w.Length; c++) eta += w[c].Weight * row[w[c].Column];
                    outOfFold[k][i] = L1LogisticRegression.Sigmoid(eta);
                }
            }
        }
        if (usable == 0) throw new InvalidOperationException("the L1 path produced no converged fit");

        var labels = isGood.ToArray();
        var path = new List<L1PathPoint>();
        int chosen = 0;
        for (int k = 0; k < usable; k++)
        {
            double deviance = 0;
            for (int i = 0; i < n; i++)
            {
                double pr = Math.Clamp(outOfFold[k][i], 1e-15, 1 - 1e-15);
                deviance -= 2 * (labels[i] ? Math.Log(pr) : Math.Log(1 - pr));
            }
            deviance /= n;
            path.Add(new L1PathPoint(lambdas[k], fullFits[k].Columns.Length, deviance, BinaryMetrics.Auroc(outOfFold[k], labels)));
            if (deviance < path[chosen].CrossValidatedDeviance) chosen = k;
        }

        double threshold = BinaryMetrics.YoudenThreshold(outOfFold[chosen], labels).Threshold;
        var report = ClassifierReport.Evaluate(L1Probe.Kind, "cross-validation (out-of-fold)", outOfFold[chosen], labels, threshold);

        var (weights, intercept) = OriginalScale(fullFits[chosen], all);
        var byNeuron = weights.Select(w => (Id: ids[w.Column], w.Weight)).OrderBy(t => t.Id).ToArray();
        int good = labels.Count(g => g);
        var probe = new L1Probe(model, byNeuron.Select(t => t.Id).ToArray(), byNeuron.Select(t => t.Weight).ToArray(),
            intercept, threshold, lambdas[chosen],
            new L1ProbeTrainingInfo(n, good, n - good, p, options.Folds, options.Seed, report.Auroc, report.Accuracy));
        return new L1ProbeTrainingResult(probe, path, chosen, report);
    }

    /// <summary>Converts a standardised fit to original activation units: w = w~ / std, b = b~ - sum w~ mean / std.</summary>
    internal static ((int Column, double Weight)[] Weights, double Intercept) OriginalScale(L1Fit fit, L1LogisticRegression solver)
    {
        var weights = new (int, double)[fit.Columns.Length];
        double intercept = fit.Intercept;
        for (int c = 0; c < fit.Columns.Length; c++)
        {
            int j = fit.Columns[c];
            double w = fit.Weights[c] * solver.Scale[j];
            weights[c] = (j, w);
            intercept -= w * solver.Mean[j];
        }
        return (weights, intercept);
    }
}
