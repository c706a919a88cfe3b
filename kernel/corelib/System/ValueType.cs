namespace System
{
    /// <summary>The base of every struct. No reflection-based Equals/GetHashCode: structs that
    /// need them override them.</summary>
    public abstract class ValueType
    {
    }
}
