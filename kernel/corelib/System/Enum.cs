namespace System
{
    /// <summary>The base of every enum. Provides no members: no ToString, Parse or HasFlag
    /// (write <c>(flags &amp; F.X) != 0</c>).</summary>
    public abstract class Enum : ValueType
    {
    }
}
