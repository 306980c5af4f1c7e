namespace AdaRas.Model;

/// <summary>
/// Bad input in a checkpoint or model folder. The message always names the file (and the tensor or
/// field where one is involved) so a user can find what is wrong without a debugger.
/// </summary>
public sealed class ModelFormatException : InputException
{
    /// <summary>The checkpoint or model-folder file at fault.</summary>
    public new string FilePath { get; }
    /// <summary>The tensor or field at fault, when there is one.</summary>
    public string? TensorName { get; }

    /// <summary>A problem in <paramref name="filePath"/>, optionally in one tensor or field.</summary>
    public ModelFormatException(string filePath, string message, string? tensorName = null, Exception? inner = null)
        : base(filePath, null, tensorName is null ? message : $"tensor '{tensorName}': {message}", inner)
    {
        FilePath = filePath;
        TensorName = tensorName;
    }
}
