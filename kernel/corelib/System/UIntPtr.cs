namespace System
{
    /// <summary>The primitive <c>nuint</c> (see <see cref="IntPtr"/>).</summary>
    public readonly unsafe struct UIntPtr
    {
        private readonly void* _value;

        /// <summary>The null pointer value.</summary>
        public static readonly nuint Zero;

        public UIntPtr(uint value) { _value = (void*)value; }
        public UIntPtr(ulong value) { _value = (void*)value; }
        public UIntPtr(void* value) { _value = value; }

        /// <summary>Size of a pointer in bytes.</summary>
        public static int Size => sizeof(nuint);

        public void* ToPointer() => _value;
        public ulong ToUInt64() => (ulong)_value;
        public bool Equals(nuint other) => (nuint)_value == other;
        public override bool Equals(object obj) => obj is nuint v && v == (nuint)_value;
        public override int GetHashCode() => (int)(ulong)_value ^ (int)((ulong)_value >> 32);
    }
}
