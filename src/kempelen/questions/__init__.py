"""Question formats: parse, validate and render; answers as QuestionFormAnswers XML."""
