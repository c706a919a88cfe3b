namespace System.Runtime.InteropServices
{
    /// <summary>The compiler marks <c>where T : unmanaged</c> with a modifier of this type.</summary>
    public enum UnmanagedType
    {
    }
}
