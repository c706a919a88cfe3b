namespace System
{
    /// <summary>The return type "void".</summary>
    public struct Void
    {
    }
}
