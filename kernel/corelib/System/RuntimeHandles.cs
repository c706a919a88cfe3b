namespace System
{
    /// <summary>Handle produced by <c>ldtoken</c> of a type.</summary>
    public struct RuntimeTypeHandle
    {
#pragma warning disable 0169
        private nint _value;
#pragma warning restore 0169
    }

    /// <summary>Handle produced by <c>ldtoken</c> of a method.</summary>
    public struct RuntimeMethodHandle
    {
#pragma warning disable 0169
        private nint _value;
#pragma warning restore 0169
    }

    /// <summary>Handle produced by <c>ldtoken</c> of a field (array initialisers).</summary>
    public struct RuntimeFieldHandle
    {
#pragma warning disable 0169
        private nint _value;
#pragma warning restore 0169
    }
}
