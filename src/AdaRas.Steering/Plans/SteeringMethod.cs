namespace AdaRas.Steering.Plans;

/// <summary>
/// How a steered neuron's activation a is changed. Each is one affine map <c>a' = a * scale + shift</c>
/// per neuron, which is what the graph's steering inputs apply.
/// </summary>
public enum SteeringMethod
{
    /// <summary><c>a += alpha * delta</c>: scale 1, shift alpha * delta. Works with every pattern dialect.</summary>
    SteeringAdd = 0,
    /// <summary><c>a = (1 - alpha) a + alpha mu+</c>: scale 1 - alpha, shift alpha * mu+. Needs mu+.</summary>
    LinearBlend = 1,
    /// <summary><c>a += alpha softplus(mu+)</c>: scale 1, shift alpha * softplus(mu+). Needs mu+.</summary>
    SoftplusAdd = 2,
}

internal static class SteeringMethods
{
    /// <summary>The paper's names: steering_add, linear_blend, softplus_add.</summary>
    public static string ToName(this SteeringMethod method) => method switch
    {
        SteeringMethod.SteeringAdd => "steering_add",
        SteeringMethod.LinearBlend => "linear_blend",
        SteeringMethod.SoftplusAdd => "softplus_add",
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, null),
    };

    public static SteeringMethod Parse(string name) => name.Trim().ToLowerInvariant().Replace('-', '_') switch
    {
        "steering_add" => SteeringMethod.SteeringAdd,
        "linear_blend" => SteeringMethod.LinearBlend,
        "softplus_add" => SteeringMethod.SoftplusAdd,
        _ => throw new AdaRas.Files.UsageException($"unknown steering method '{name}' (expected steering_add, linear_blend or softplus_add)"),
    };

    /// <summary>True when the method needs mu+ (a pattern in our dialect), not only delta.</summary>
    public static bool NeedsMuPlus(this SteeringMethod method) => method != SteeringMethod.SteeringAdd;
}
