namespace System
{
    /// <summary>Exists for attribute signatures (typeof in attribute arguments); no reflection.</summary>
    public abstract class Type
    {
    }
}
