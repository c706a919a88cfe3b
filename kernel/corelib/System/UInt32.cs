namespace System
{
    /// <summary>The primitive <c>uint</c>. ilc lays it out itself; the field only gives
    /// members a way to name the value.</summary>
    public readonly struct UInt32
    {
        private readonly uint m_value;

        /// <summary>The largest value.</summary>
        public const uint MaxValue = 0xFFFFFFFF;
        /// <summary>The smallest value.</summary>
        public const uint MinValue = 0U;

        public bool Equals(uint other) => m_value == other;
        public override bool Equals(object obj) => obj is uint v && v == m_value;
        public int CompareTo(uint other) => m_value < other ? -1 : m_value > other ? 1 : 0;
        public override int GetHashCode() => (int)m_value;
    }
}
