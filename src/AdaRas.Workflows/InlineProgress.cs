namespace AdaRas.Workflows;

/// <summary>
/// An <see cref="IProgress{T}"/> that reports on the caller's thread, in order. <see cref="Progress{T}"/> posts each
/// report to the thread pool instead, so reports can arrive out of order, after the work ended, or concurrently.
/// </summary>
internal sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
