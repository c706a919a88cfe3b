namespace System
{
    /// <summary>The base of attributes (metadata only; no reflection reads them).</summary>
    public abstract class Attribute
    {
    }
}
