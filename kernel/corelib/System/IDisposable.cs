namespace System
{
    /// <summary>For <c>using</c> on structs.</summary>
    public interface IDisposable
    {
        void Dispose();
    }
}
