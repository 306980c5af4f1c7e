using AdaRas.Probing.Numerics;

namespace AdaRas.Probing;

/// <summary>
/// Seeded stratified k-fold assignment: each class is shuffled and dealt round-robin to the folds, so every fold
/// holds (within one) the same share of correct and incorrect questions. Also gives a stratified train/validation split.
/// </summary>
internal static class StratifiedFolds
{
    /// <summary>Fold number (0..folds-1) for every question.</summary>
    public static int[] Assign(IReadOnlyList<bool> isGood, int folds, int seed)
    {
        ArgumentNullException.ThrowIfNull(isGood);
        if (folds < 2) throw new ArgumentException($"cross-validation needs at least 2 folds, got {folds}");
        if (isGood.Count < folds)
            throw new ArgumentException($"fewer questions ({isGood.Count}) than cross-validation folds ({folds})");
        int good = isGood.Count(g => g);
        RequireBothClasses(good, isGood.Count - good, "cross-validation labels");
        if (good < 2 || isGood.Count - good < 2)
            throw new ArgumentException(
                $"cross-validation needs at least 2 questions of each class (have {good} correct, {isGood.Count - good} incorrect): " +
                "otherwise a training fold lacks a class");

        var rng = new SeededRandom(seed);
        var fold = new int[isGood.Count];
        foreach (bool cls in new[] { true, false })
        {
            var members = Enumerable.Range(0, isGood.Count).Where(i => isGood[i] == cls).ToArray();
            rng.Shuffle(members.AsSpan());
            for (int k = 0; k < members.Length; k++) fold[members[k]] = k % folds;
        }
        return fold;
    }

    /// <summary>Stratified split: about <paramref name="validationFraction"/> of each class goes to validation.</summary>
    public static (int[] Train, int[] Validation) Split(IReadOnlyList<bool> isGood, double validationFraction, int seed)
    {
        ArgumentNullException.ThrowIfNull(isGood);
        if (!(validationFraction > 0 && validationFraction < 1))
            throw new ArgumentException($"validation fraction must be in (0, 1), got {validationFraction}");
        int good = isGood.Count(g => g);
        RequireBothClasses(good, isGood.Count - good, "split labels");
        var rng = new SeededRandom(seed);
        var train = new List<int>();
        var validation = new List<int>();
        foreach (bool cls in new[] { true, false })
        {
            var members = Enumerable.Range(0, isGood.Count).Where(i => isGood[i] == cls).ToArray();
            if (members.Length < 2)
                throw new ArgumentException($"a stratified split needs at least 2 questions of each class; class is_good={cls} has {members.Length}");
            rng.Shuffle(members.AsSpan());
            int nVal = Math.Clamp((int)Math.Round(members.Length * validationFraction), 1, members.Length - 1);
            validation.AddRange(members[..nVal]);
            train.AddRange(members[nVal..]);
        }
        train.Sort();
        validation.Sort();
        return (train.ToArray(), validation.ToArray());
    }

    internal static void RequireBothClasses(int good, int bad, string what)
    {
        if (good == 0 || bad == 0)
            throw new ArgumentException(
                $"{what}: all {good + bad} labels are {(good == 0 ? "incorrect (is_good=false)" : "correct (is_good=true)")}; " +
                "a correctness classifier needs both correct and incorrect questions");
    }
}
