namespace System
{
    /// <summary>The primitive <c>long</c>. ilc lays it out itself; the field only gives
    /// members a way to name the value.</summary>
    public readonly struct Int64
    {
        private readonly long m_value;

        /// <summary>The largest value.</summary>
        public const long MaxValue = 0x7FFFFFFFFFFFFFFFL;
        /// <summary>The smallest value.</summary>
        public const long MinValue = unchecked((long)0x8000000000000000UL);

        public bool Equals(long other) => m_value == other;
        public override bool Equals(object obj) => obj is long v && v == m_value;
        public int CompareTo(long other) => m_value < other ? -1 : m_value > other ? 1 : 0;
        public override int GetHashCode() => (int)m_value ^ (int)(m_value >> 32);
    }
}
