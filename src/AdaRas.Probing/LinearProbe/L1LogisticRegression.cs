using System.Numerics.Tensors;
using AdaRas.Probing.Numerics;

namespace AdaRas.Probing.LinearProbe;

/// <summary>One solution on the regularisation path, in standardised units (see <see cref="L1LogisticRegression"/>).</summary>
internal sealed record L1Fit(
    double Lambda,
    double Intercept,
    int[] Columns,
    double[] Weights,
    double MeanDeviance,
    double NullMeanDeviance,
    double MaxKktViolation,
    bool Converged,
    int NewtonSteps)
{
    public double DevianceRatio => 1 - MeanDeviance / NullMeanDeviance;
}

/// <summary>
/// L1-regularised logistic regression on a subset of the rows of a row-major activation matrix, solved along a
/// decreasing lambda path with warm starts. Minimises, over standardised features x~ = (x - mean) / std (population
/// std over the rows used) and an unpenalised intercept b:
/// <code>  (1/n) sum_i [ log(1 + exp(eta_i)) - y_i eta_i ] + lambda * sum_j |w_j|,   eta_i = b + w . x~_i </code>
/// Solver: proximal Newton (the newGLMNET scheme): a coordinate-descent pass minimises the L1-penalised
/// quadratic model, then an Armijo line search on the true objective guarantees descent. Only a working set of
/// features is touched (ever-active plus the sequential strong rule's survivors); after the working set
/// converges, the gradient of every feature is computed in one pass over the rows and any feature that breaks
/// the optimality (KKT) conditions joins the set. A fit counts as converged when, for every feature,
/// |g_j| &lt;= lambda + tol (zero weights) or |g_j + lambda sign(w_j)| &lt;= tol (non-zero weights), and |g_b| &lt;= tol.
/// Constant features (std 0) never enter. The matrix is never copied: only working-set columns are
/// extracted (standardised, in double).
/// </summary>
internal sealed class L1LogisticRegression
{
    const double MinCurvature = 1e-5;  // floor on p(1-p), as glmnet, so near-certain rows keep a usable Hessian
    const int MaxNewtonSteps = 200;
    const int MaxCdCycles = 10_000;

    readonly float[] _x;
    readonly int _p, _n;
    readonly int[] _rows;
    readonly double[] _y;
    readonly double[] _mean, _scale; // scale = 1/std, 0 for constant features
    readonly double[] _beta, _eta, _gradient;
    readonly bool[] _inWorkingSet;
    readonly List<int> _workingSet = [];
    readonly Dictionary<int, double[]> _columns = [];
    readonly double _tolerance;
    double _intercept, _previousLambda;

    public int FeatureCount => _p;
    public double LambdaMax { get; }
    public double NullMeanDeviance { get; }
    public ReadOnlySpan<double> Mean => _mean;
    /// <summary>1/std per feature (0 for a constant one): weight in original units = standardised weight * scale.</summary>
    public ReadOnlySpan<double> Scale => _scale;
    /// <summary>Standardised-feature gradient of the smooth loss at the last fit (all features).</summary>
    public ReadOnlySpan<double> Gradient => _gradient;

    public L1LogisticRegression(ActivationMatrix x, IReadOnlyList<bool> isGood, int[] rows, double tolerance)
    {
        _x = x.Values; _p = x.Columns; _rows = rows; _n = rows.Length; _tolerance = tolerance;
        _y = new double[_n];
        int good = 0;
        for (int i = 0; i < _n; i++) { _y[i] = isGood[rows[i]] ? 1 : 0; good += isGood[rows[i]] ? 1 : 0; }
        StratifiedFolds.RequireBothClasses(good, _n - good, "L1 probe training labels");

        (_mean, _scale) = Standardisation(x, rows);
        _beta = new double[_p];
        _gradient = new double[_p];
        _inWorkingSet = new bool[_p];
        double ybar = (double)good / _n;
        _intercept = Math.Log(ybar / (1 - ybar));
        _eta = new double[_n];
        Array.Fill(_eta, _intercept);
        NullMeanDeviance = -2 * (ybar * Math.Log(ybar) + (1 - ybar) * Math.Log(1 - ybar));
        ComputeFullGradient();
        LambdaMax = 0;
        for (int j = 0; j < _p; j++) LambdaMax = Math.Max(LambdaMax, Math.Abs(_gradient[j]));
        _previousLambda = LambdaMax;
    }

    /// <summary>Log-spaced decreasing lambdas from lambdaMax to lambdaMax * minRatio.</summary>
    public static double[] LambdaPath(double lambdaMax, int count, double minRatio)
    {
        if (count < 1) throw new ArgumentException($"lambda count must be positive, got {count}");
        if (!(minRatio > 0 && minRatio < 1)) throw new ArgumentException($"lambda min ratio must be in (0, 1), got {minRatio}");
        var l = new double[count];
        for (int k = 0; k < count; k++) l[k] = lambdaMax * Math.Pow(minRatio, count == 1 ? 0 : (double)k / (count - 1));
        return l;
    }

    /// <summary>
    /// Fits the lambdas in order, warm-starting each from the last. Stops early (like glmnet) once the model
    /// explains 99.9% of the null deviance (the data are then nearly separable and smaller lambdas only inflate
    /// weights) or a fit fails to converge; the unconverged fit is not returned.
    /// </summary>
    public List<L1Fit> FitPath(IReadOnlyList<double> lambdas)
    {
        var fits = new List<L1Fit>();
        foreach (double lambda in lambdas)
        {
            var fit = Fit(lambda);
            if (!fit.Converged) break;
            fits.Add(fit);
            if (fit.DevianceRatio > 0.999) break;
        }
        return fits;
    }

    public L1Fit Fit(double lambda)
    {
        if (!(lambda > 0)) throw new ArgumentException($"lambda must be positive, got {lambda}");
        // Sequential strong rule: a feature whose gradient at the previous lambda is below 2*lambda - lambda_prev
        // is very likely zero at lambda; the KKT pass below catches the rare exception.
        AddToWorkingSet(j => Math.Abs(_gradient[j]) >= 2 * lambda - _previousLambda);
        bool converged = false;
        int steps = 0;
        for (int round = 0; round < 100; round++)
        {
            converged = SolveWorkingSet(lambda, ref steps);
            ComputeFullGradient();
            if (!converged) break;
            if (AddToWorkingSet(j => Math.Abs(_gradient[j]) > lambda + _tolerance) == 0) break;
            converged = false;
        }
        _previousLambda = lambda;

        var columns = new List<int>();
        var weights = new List<double>();
        foreach (int j in _workingSet.Order())
            if (_beta[j] != 0) { columns.Add(j); weights.Add(_beta[j]); }
        return new L1Fit(lambda, _intercept, columns.ToArray(), weights.ToArray(), MeanDeviance(_eta),
            NullMeanDeviance, MaxKktViolation(lambda), converged, steps);
    }

    /// <summary>Largest violation of the optimality conditions over all features and the intercept.</summary>
    double MaxKktViolation(double lambda)
    {
        double worst = 0, sumR = 0;
        for (int i = 0; i < _n; i++) sumR += Sigmoid(_eta[i]) - _y[i];
        worst = Math.Abs(sumR / _n);
        for (int j = 0; j < _p; j++) worst = Math.Max(worst, Violation(_gradient[j], _beta[j], lambda));
        return worst;
    }

    static double Violation(double g, double w, double lambda) =>
        w == 0 ? Math.Max(0, Math.Abs(g) - lambda) : Math.Abs(g + lambda * Math.Sign(w));

    int AddToWorkingSet(Func<int, bool> admit)
    {
        var added = new List<int>();
        for (int j = 0; j < _p; j++)
            if (!_inWorkingSet[j] && _scale[j] != 0 && admit(j)) added.Add(j);
        if (added.Count == 0) return 0;
        // Extract the new standardised columns in one pass over the rows.
        var cols = added.Select(_ => new double[_n]).ToArray();
        for (int i = 0; i < _n; i++)
        {
            var row = _x.AsSpan(_rows[i] * _p, _p);
            for (int k = 0; k < added.Count; k++)
            {
                int j = added[k];
                cols[k][i] = (row[j] - _mean[j]) * _scale[j];
            }
        }
        for (int k = 0; k < added.Count; k++)
        {
            _inWorkingSet[added[k]] = true;
            _workingSet.Add(added[k]);
            _columns[added[k]] = cols[k];
        }
        return added.Count;
    }

    /// <summary>Proximal Newton on the working set until its KKT conditions hold within tolerance.</summary>
// Long on purpose: one proximal-Newton iteration (gradient, Hessian, coordinate descent, line search, KKT check)
// on shared working-set buffers, written as the algorithm reads in the literature.
    bool SolveWorkingSet(double lambda, ref int steps)
    {
        int m = _workingSet.Count;
        var cols = _workingSet.Select(j => _columns[j]).ToArray();
        var beta = _workingSet.Select(j => _beta[j]).ToArray();
        var r = new double[_n];
        var w = new double[_n];
        var q = new double[_n];
        var dEta = new double[_n];
        var candidate = new double[m];
        var hess = new double[m];
        var trialEta = new double[_n];
        double invN = 1.0 / _n;

        // Recompute eta exactly from the weights, so rounding from earlier line-search updates cannot accumulate.
        Array.Fill(_eta, _intercept);
        for (int k = 0; k < m; k++)
            if (beta[k] != 0) TensorPrimitives.MultiplyAdd<double>(cols[k], beta[k], _eta, _eta);

        for (; steps < MaxNewtonSteps; steps++)
        {
            double sumR = 0, sumW = 0;
            for (int i = 0; i < _n; i++)
            {
                double pi = Sigmoid(_eta[i]);
                r[i] = pi - _y[i];
                w[i] = Math.Max(pi * (1 - pi), MinCurvature);
                sumR += r[i];
                sumW += w[i];
            }
            double violation = Math.Abs(sumR * invN);
            for (int k = 0; k < m; k++)
                violation = Math.Max(violation, Violation(Dot(cols[k], r) * invN, beta[k], lambda));
            if (violation <= _tolerance) { WriteBack(beta); return true; }

            // Coordinate descent on the quadratic model, iterating candidate weights (so a weight the soft
            // threshold sends to zero is exactly zero); q = r + w * dEta is the model's gradient in eta.
            Array.Copy(r, q, _n);
            Array.Clear(dEta);
            Array.Copy(beta, candidate, m);
            double deltaB = 0, hessB = sumW * invN;
            for (int k = 0; k < m; k++)
            {
                double h = 0;
                var c = cols[k];
                for (int i = 0; i < _n; i++) h += w[i] * c[i] * c[i];
                hess[k] = h * invN;
            }
            double innerTolerance = Math.Max(0.01 * violation, 0.1 * _tolerance);
            for (int cycle = 0; cycle < MaxCdCycles; cycle++)
            {
                double step = -Sum(q) * invN / hessB;
                deltaB += step;
                for (int i = 0; i < _n; i++) { dEta[i] += step; q[i] += w[i] * step; }
                double biggest = Math.Abs(step) * hessB;
                for (int k = 0; k < m; k++)
                {
                    if (hess[k] <= 0) continue;
                    var c = cols[k];
                    double g = Dot(c, q) * invN;
                    double current = candidate[k];
                    double target = SoftThreshold(hess[k] * current - g, lambda) / hess[k];
                    double s = target - current;
                    if (s == 0) continue;
                    candidate[k] = target;
                    for (int i = 0; i < _n; i++) { dEta[i] += s * c[i]; q[i] += w[i] * s * c[i]; }
                    biggest = Math.Max(biggest, Math.Abs(s) * hess[k]);
                }
                if (biggest <= innerTolerance) break;
            }

            // Armijo backtracking on the true objective along the Newton direction.
            double l1 = 0, l1New = 0;
            for (int k = 0; k < m; k++) { l1 += Math.Abs(beta[k]); l1New += Math.Abs(candidate[k]); }
            double descent = Dot(r, dEta) * invN + lambda * (l1New - l1);
            double f0 = MeanLoss(_eta) + lambda * l1;
            double t = 1;
            bool accepted = false;
            for (int ls = 0; ls < 50; ls++, t *= 0.5)
            {
                for (int i = 0; i < _n; i++) trialEta[i] = _eta[i] + t * dEta[i];
                double l1t = 0;
                for (int k = 0; k < m; k++) l1t += Math.Abs(beta[k] + t * (candidate[k] - beta[k]));
                if (MeanLoss(trialEta) + lambda * l1t <= f0 + 1e-4 * t * descent) { accepted = true; break; }
            }
            if (!accepted) { WriteBack(beta); return false; } // no further progress possible in double precision
            Array.Copy(trialEta, _eta, _n);
            _intercept += t * deltaB;
            for (int k = 0; k < m; k++)
                beta[k] = t == 1 ? candidate[k] : beta[k] + t * (candidate[k] - beta[k]);
        }
        WriteBack(beta);
        return false;
    }

    void WriteBack(double[] beta)
    {
        for (int k = 0; k < _workingSet.Count; k++) _beta[_workingSet[k]] = beta[k];
    }

    /// <summary>Gradient of the smooth loss for every feature, in one pass over the rows (parallel over columns).</summary>
    void ComputeFullGradient()
    {
        var r = new double[_n];
        double sumR = 0;
        for (int i = 0; i < _n; i++) { r[i] = Sigmoid(_eta[i]) - _y[i]; sumR += r[i]; }
        int chunk = Math.Max(8192, (_p + Environment.ProcessorCount - 1) / Environment.ProcessorCount);
        int chunks = (_p + chunk - 1) / chunk;
        Parallel.For(0, chunks, c =>
        {
            int start = c * chunk, length = Math.Min(chunk, _p - start);
            var acc = new double[length];
            for (int i = 0; i < _n; i++)
                DoubleAccumulate.AddScaled(_x.AsSpan(_rows[i] * _p + start, length), r[i], acc);
            for (int k = 0; k < length; k++)
            {
                int j = start + k;
                _gradient[j] = _scale[j] == 0 ? 0 : (acc[k] - _mean[j] * sumR) * _scale[j] / _n;
            }
        });
    }

    static (double[] Mean, double[] Scale) Standardisation(ActivationMatrix x, int[] rows)
    {
        int p = x.Columns;
        var moments = new ColumnMoments(p);
        foreach (int row in rows) moments.Add(x.Row(row));
        var mean = new double[p];
        var scale = new double[p];
        for (int j = 0; j < p; j++)
        {
            mean[j] = moments.Mean(j);
            double variance = moments.Variance(j);
            scale[j] = variance > 0 ? 1 / Math.Sqrt(variance) : 0;
        }
        return (mean, scale);
    }

    double MeanLoss(double[] eta)
    {
        double s = 0;
        for (int i = 0; i < _n; i++) s += Softplus(eta[i]) - _y[i] * eta[i];
        return s / _n;
    }

    double MeanDeviance(double[] eta) => 2 * MeanLoss(eta);

    internal static double Sigmoid(double z) => z >= 0 ? 1 / (1 + Math.Exp(-z)) : Math.Exp(z) / (1 + Math.Exp(z));
    static double Softplus(double z) => Math.Max(z, 0) + Math.Log(1 + Math.Exp(-Math.Abs(z)));
    static double SoftThreshold(double z, double t) => z > t ? z - t : z < -t ? z + t : 0;
    static double Sum(double[] a) { double s = 0; foreach (var v in a) s += v; return s; }
    static double Dot(double[] a, double[] b) => TensorPrimitives.Dot<double>(a, b);
}
