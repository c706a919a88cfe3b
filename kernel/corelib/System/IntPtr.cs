namespace System
{
    /// <summary>The primitive <c>nint</c>. With RuntimeFeature.NumericIntPtr the compiler gives
    /// nint all arithmetic and conversions itself; these members cover the named API.</summary>
    public readonly unsafe struct IntPtr
    {
        private readonly void* _value;

        /// <summary>The null pointer value.</summary>
        public static readonly nint Zero;

        public IntPtr(int value) { _value = (void*)value; }
        public IntPtr(long value) { _value = (void*)value; }
        public IntPtr(void* value) { _value = value; }

        /// <summary>Size of a pointer in bytes.</summary>
        public static int Size => sizeof(nint);

        public void* ToPointer() => _value;
        public long ToInt64() => (long)_value;
        public bool Equals(nint other) => (nint)_value == other;
        public override bool Equals(object obj) => obj is nint v && v == (nint)_value;
        public override int GetHashCode() => (int)(long)_value ^ (int)((long)_value >> 32);
    }
}
