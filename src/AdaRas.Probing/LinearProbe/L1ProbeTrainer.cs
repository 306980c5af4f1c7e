using AdaRas.Model;
using AdaRas.Probing.Metrics;

namespace AdaRas.Probing.LinearProbe;

internal sealed record L1ProbeOptions
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
    /// <summary>How the cross-validated path picks lambda.</summary>
    public L1LambdaRule LambdaRule { get; init; } = L1LambdaRule.OneStandardError;
}

internal enum L1LambdaRule
{
    /// <summary>The lambda with the lowest cross-validated deviance (glmnet's lambda.min).</summary>
    MinimumDeviance,
    /// <summary>
    /// The largest lambda whose deviance is within one standard error of the minimum (glmnet's lambda.1se): the
    /// sparsest probe that is statistically as good, since the minimum-deviance lasso also admits noise features.
    /// </summary>
    OneStandardError,
}

/// <summary>One lambda of the path: sparsity of the all-questions fit and the cross-validated quality (deviance per question, with its standard error over folds).</summary>
internal sealed record L1PathPoint(double Lambda, int NonZeroCount, double CrossValidatedDeviance, double CrossValidatedDevianceError, double CrossValidatedAuroc);

internal sealed record L1ProbeTrainingResult(
    L1Probe Probe,
    IReadOnlyList<L1PathPoint> Path,
    int ChosenIndex,
    ClassifierReport CrossValidated)
{
    /// <summary>Pooled out-of-fold p(correct) per question at the chosen lambda (what the report and threshold come from).</summary>
    public double[] OutOfFoldPCorrect { get; init; } = [];
}

/// <summary>
/// Trains the paper's preliminary probe: L1-regularised logistic regression predicting correctness from last-token
/// activations. A lambda path is fitted (warm starts, see <see cref="L1LogisticRegression"/>) on each of k
/// stratified folds and on all questions; lambda is chosen on the out-of-fold binomial deviance, by default the
/// largest lambda within one standard error of the minimum (see <see cref="L1LambdaRule"/>; the path ends 10 lambdas
/// past the minimum, or when a fit explains 99.9% of the null deviance); the probe is the all-questions fit at that
/// lambda; its threshold is Youden's J on the pooled out-of-fold predictions at that lambda, and the report
/// (AUROC, accuracy, ...) is out-of-fold too.
/// </summary>
internal static class L1ProbeTrainer
{
    /// <summary>The path ends this many lambdas after the cross-validated deviance minimum.</summary>
    const int PastMinimum = 10;

    /// <param name="model">The model the activations come from.</param>
    /// <param name="lastToken">Questions x features, row-major.</param>
    /// <param name="neuronIds">Global neuron id of each column; null when the columns are all neurons in order.</param>
    /// <param name="isGood">Correctness label per question.</param>
// Long on purpose: standardisation, the folds' warm-started paths and the lambda rule share the path grid and
// per-fold solvers; the method follows glmnet's cv procedure step by step.
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

        var labels = isGood.ToArray();
        var all = new L1LogisticRegression(lastToken, isGood, Enumerable.Range(0, n).ToArray(), options.Tolerance);
        var heldOut = new int[options.Folds][];
        var foldSolvers = new L1LogisticRegression[options.Folds];
        for (int f = 0; f < options.Folds; f++)
        {
            heldOut[f] = Enumerable.Range(0, n).Where(i => folds[i] == f).ToArray();
            foldSolvers[f] = new L1LogisticRegression(lastToken, isGood, Enumerable.Range(0, n).Where(i => folds[i] != f).ToArray(), options.Tolerance);
        }
        double minRatio = options.LambdaMinRatio ?? (n > p ? 1e-4 : 0.01);
        var lambdas = L1LogisticRegression.LambdaPath(all.LambdaMax, options.LambdaCount, minRatio);

        // Walk the path with all solvers in step, so it can end once the cross-validated deviance has risen for
        // PastMinimum lambdas: near the end of a path the data become separable and fits get slow and useless.
        var path = new List<L1PathPoint>();
        var fullFits = new List<L1Fit>();
        var outOfFoldByLambda = new List<double[]>();
        int minimum = 0;
        for (int k = 0; k < lambdas.Length && k - minimum <= PastMinimum; k++)
        {
            var fit = all.Fit(lambdas[k]);
            if (!fit.Converged) break;
            var outOfFold = new double[n];
            bool foldsConverged = true;
            for (int f = 0; f < options.Folds && foldsConverged; f++)
            {
                var foldFit = foldSolvers[f].Fit(lambdas[k]);
                foldsConverged = foldFit.Converged;
                var (w, b) = OriginalScale(foldFit, foldSolvers[f]);
                foreach (int i in heldOut[f])
                {
                    var row = lastToken.Row(i);
                    double eta = b;
                    foreach (var (column, weight) in w) eta += weight * row[column];
                    outOfFold[i] = L1LogisticRegression.Sigmoid(eta);
                }
            }
            if (!foldsConverged) break;
            // Deviance per question, per fold; the mean over all questions and its standard error as glmnet's cv.
            var foldDeviance = new double[options.Folds];
            double deviance = 0;
            for (int f = 0; f < options.Folds; f++)
            {
                foreach (int i in heldOut[f])
                {
                    double pr = Math.Clamp(outOfFold[i], 1e-15, 1 - 1e-15);
                    foldDeviance[f] -= 2 * (labels[i] ? Math.Log(pr) : Math.Log(1 - pr));
                }
                deviance += foldDeviance[f];
                foldDeviance[f] /= heldOut[f].Length;
            }
            deviance /= n;
            double spread = 0;
            for (int f = 0; f < options.Folds; f++) spread += heldOut[f].Length * Math.Pow(foldDeviance[f] - deviance, 2);
            double error = Math.Sqrt(spread / n / (options.Folds - 1));
            fullFits.Add(fit);
            outOfFoldByLambda.Add(outOfFold);
            path.Add(new L1PathPoint(lambdas[k], fit.Columns.Length, deviance, error, BinaryMetrics.Auroc(outOfFold, labels)));
            if (deviance < path[minimum].CrossValidatedDeviance) minimum = k;
            if (fit.DevianceRatio > 0.999) break; // (nearly) separable: smaller lambdas only inflate the weights
        }
        if (path.Count == 0) throw new InvalidOperationException("the L1 path produced no converged fit");
        int chosen = options.LambdaRule == L1LambdaRule.MinimumDeviance
            ? minimum
            : path.FindIndex(pt => pt.CrossValidatedDeviance <= path[minimum].CrossValidatedDeviance + path[minimum].CrossValidatedDevianceError);
        var chosenOutOfFold = outOfFoldByLambda[chosen];

        double threshold = BinaryMetrics.YoudenThreshold(chosenOutOfFold, labels).Threshold;
        var report = ClassifierReport.Evaluate(L1Probe.Kind, "cross-validation (out-of-fold)", chosenOutOfFold, labels, threshold);

        var (weights, intercept) = OriginalScale(fullFits[chosen], all);
        var byNeuron = weights.Select(w => (Id: ids[w.Column], w.Weight)).OrderBy(t => t.Id).ToArray();
        int good = labels.Count(g => g);
        var probe = new L1Probe(model, byNeuron.Select(t => t.Id).ToArray(), byNeuron.Select(t => t.Weight).ToArray(),
            intercept, threshold, lambdas[chosen],
            new L1ProbeTrainingInfo(n, good, n - good, p, options.Folds, options.Seed, report.Auroc, report.Accuracy));
        return new L1ProbeTrainingResult(probe, path, chosen, report) { OutOfFoldPCorrect = chosenOutOfFold };
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
